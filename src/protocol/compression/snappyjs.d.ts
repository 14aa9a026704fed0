// The slice of snappyjs (plain JavaScript, no bundled types) used by snappy.ts.
declare module "snappyjs" {
  const SnappyJS: {
    /** Raw snappy; a Buffer in gives a Buffer out. */
    compress(input: Buffer): Buffer;
    uncompress(input: Buffer, maxLength?: number): Buffer;
  };
  export default SnappyJS;
}
