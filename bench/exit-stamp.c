/* Bench fixture: prints CLOCK_MONOTONIC in ns, then exits at once. The bench compares it
 * with process.hrtime (also CLOCK_MONOTONIC) when the handler's next spawn returns. */
#include <stdio.h>
#include <time.h>

int main(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  printf("%lld\n", (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec);
  return 0;
}
