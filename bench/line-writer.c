/* Bench fixture: writes TOTAL bytes to stdout as 100-byte lines (99 characters and a
 * newline), 64 KiB per write(2), and times itself with CLOCK_MONOTONIC from its first write
 * to the return of its last. The seconds go to REPORT (stdout is what is measured).
 * Usage: line-writer TOTAL REPORT */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LINE 100
#define BLOCK (LINE * 655) /* 65500 bytes: whole lines per write */

int main(int argc, char** argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: line-writer TOTAL REPORT\n");
    return 2;
  }
  long long total = atoll(argv[1]);
  static char block[BLOCK];
  for (int i = 0; i < BLOCK; i++) block[i] = (i % LINE == LINE - 1) ? '\n' : 'a' + (i % 26);
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  long long left = total;
  while (left > 0) {
    size_t n = left < BLOCK ? (size_t)left : BLOCK;
    ssize_t w = write(1, block, n);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) return 1;
    left -= w;
  }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
  FILE* f = fopen(argv[2], "w");
  if (!f) return 1;
  fprintf(f, "%.6f\n", secs);
  fclose(f);
  return 0;
}
