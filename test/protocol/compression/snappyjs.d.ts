// The slice of snappyjs (plain JavaScript, no bundled types) the tests use as a reference.
declare module "snappyjs" {
  const SnappyJS: {
    /** Raw snappy; a Buffer in gives a Buffer out. */
    compress(input: Buffer): Buffer;
    uncompress(input: Buffer, maxLength?: number): Buffer;
  };
  export default SnappyJS;
}
