/*
 * The C codecs on the bytes bench/hotpath.mjs compresses, as librdkafka calls them at its
 * default levels: the ceiling for our figures. Compiled by hotpath.mjs at run time:
 *
 *   gcc -O2 -o cbench cbench.c -lsnappy -llz4 -lzstd -lz
 *   ./cbench FILE SECONDS   ->  one JSON object on stdout
 *
 * Each codec is timed the way librdkafka uses it: a context made and freed per batch
 * (LZ4F with independent blocks, level 0; a zstd stream at level 3 with the size pledged;
 * deflate with a gzip header, level 6, memLevel 8), the output in a buffer of the bound.
 */
#include <snappy-c.h>
#include <lz4.h>
#include <lz4frame.h>
#include <zstd.h>
#include <zlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double cpu(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static size_t do_none(const char *in, size_t n, char *out, size_t cap) {
  (void)cap;
  memcpy(out, in, n);
  return n;
}

static size_t do_snappy(const char *in, size_t n, char *out, size_t cap) {
  size_t len = cap;
  if (snappy_compress(in, n, out, &len) != SNAPPY_OK) return 0;
  return len;
}

static size_t do_lz4(const char *in, size_t n, char *out, size_t cap) {
  LZ4F_cctx *c;
  LZ4F_preferences_t prefs;
  memset(&prefs, 0, sizeof prefs);
  prefs.frameInfo.blockMode = LZ4F_blockIndependent;
  prefs.compressionLevel = 0;
  if (LZ4F_isError(LZ4F_createCompressionContext(&c, LZ4F_VERSION))) return 0;
  size_t pos = LZ4F_compressBegin(c, out, cap, &prefs);
  size_t r = LZ4F_compressUpdate(c, out + pos, cap - pos, in, n, NULL);
  if (LZ4F_isError(r)) pos = 0; else pos += r;
  r = LZ4F_compressEnd(c, out + pos, cap - pos, NULL);
  if (LZ4F_isError(r)) pos = 0; else pos += r;
  LZ4F_freeCompressionContext(c);
  return pos;
}

static size_t do_zstd(const char *in, size_t n, char *out, size_t cap) {
  ZSTD_CCtx *c = ZSTD_createCCtx();
  ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, 3);
  ZSTD_CCtx_setPledgedSrcSize(c, n);
  ZSTD_inBuffer ib = {in, n, 0};
  ZSTD_outBuffer ob = {out, cap, 0};
  size_t r = ZSTD_compressStream2(c, &ob, &ib, ZSTD_e_end);
  ZSTD_freeCCtx(c);
  return ZSTD_isError(r) || r != 0 ? 0 : ob.pos;
}

static size_t do_gzip(const char *in, size_t n, char *out, size_t cap) {
  z_stream s;
  memset(&s, 0, sizeof s);
  if (deflateInit2(&s, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    return 0;
  s.next_in = (Bytef *)in;
  s.avail_in = (uInt)n;
  s.next_out = (Bytef *)out;
  s.avail_out = (uInt)cap;
  int r = deflate(&s, Z_FINISH);
  size_t len = r == Z_STREAM_END ? s.total_out : 0;
  deflateEnd(&s);
  return len;
}

typedef size_t (*codec_fn)(const char *, size_t, char *, size_t);

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: cbench FILE SECONDS\n");
    return 2;
  }
  FILE *f = fopen(argv[1], "rb");
  if (!f) return perror(argv[1]), 1;
  fseek(f, 0, SEEK_END);
  size_t n = (size_t)ftell(f);
  fseek(f, 0, SEEK_SET);
  char *in = malloc(n);
  if (fread(in, 1, n, f) != n) return perror("read"), 1;
  fclose(f);
  double seconds = atof(argv[2]);
  size_t cap = n + n / 2 + 65536 + ZSTD_compressBound(n);
  char *out = malloc(cap);
  const char *names[] = {"none", "snappy", "lz4", "zstd", "gzip"};
  codec_fn fns[] = {do_none, do_snappy, do_lz4, do_zstd, do_gzip};
  printf("{\"inputBytes\":%zu,\"zstdVersion\":\"%s\",\"lz4Version\":\"%s\",\"zlibVersion\":\"%s\"", n,
         ZSTD_versionString(), LZ4_versionString(), zlibVersion());
  for (int k = 0; k < 5; k++) {
    size_t len = fns[k](in, n, out, cap); /* warm-up */
    if (len == 0 && n > 0) {
      fprintf(stderr, "%s failed\n", names[k]);
      return 1;
    }
    /* Best of 5 passes, in wall and in CPU time (a shared machine only ever slows a pass). */
    double best = 0, bestCpu = 0;
    for (int pass = 0; pass < 5; pass++) {
      double t0 = now(), c0 = cpu();
      long calls = 0;
      do {
        fns[k](in, n, out, cap);
        calls++;
      } while (now() - t0 < seconds / 5);
      double rate = calls * (double)n / (now() - t0) / 1e6;
      double cpuRate = calls * (double)n / (cpu() - c0) / 1e6;
      if (rate > best) best = rate;
      if (cpuRate > bestCpu) bestCpu = cpuRate;
    }
    printf(",\"%s\":{\"MBps\":%.1f,\"cpuMBps\":%.1f,\"ratio\":%.4f}", names[k], best, bestCpu,
           (double)n / (double)len);
  }
  printf("}\n");
  return 0;
}
