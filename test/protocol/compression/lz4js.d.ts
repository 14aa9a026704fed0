// lz4js 0.2 (plain JavaScript, no bundled types): the frame functions the tests use.
declare module "lz4js" {
  const lz4js: {
    compress(src: Uint8Array, maxSize?: number): Uint8Array;
    decompress(src: Uint8Array, maxSize?: number): Uint8Array;
  };
  export default lz4js;
}
