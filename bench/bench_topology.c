/* bench_topology.c - time to bring a run's namespaces up and down (nemesis/topology.h).
 *
 *   bench_bench_topology [ROUNDS]   (default 10; needs root)
 *
 * For 3 and 5 nodes: ROUNDS times plan + up (which includes the subnet check
 * and the registry file) then down, with fresh run ids; prints min, median
 * and max milliseconds of each, and of the subnet check alone. Figures only. */
#include "common/error.h"
#include "nemesis/topology.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define MAX_ROUNDS 100

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void print(const char *what, double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp);
    printf("  %-22s min %6.1f ms  median %6.1f ms  max %6.1f ms\n", what, v[0], v[n / 2], v[n - 1]);
}

int main(int argc, char **argv)
{
    int rounds = argc > 1 ? atoi(argv[1]) : 10;
    if (rounds < 1 || rounds > MAX_ROUNDS) {
        fprintf(stderr, "usage: bench_bench_topology [ROUNDS 1..%d]\n", MAX_ROUNDS);
        return 3;
    }
    static const unsigned sizes[] = {3, 5};
    double up[MAX_ROUNDS], down[MAX_ROUNDS], check[MAX_ROUNDS];
    char em[FL_ERRMSG_SIZE];

    for (int i = 0; i < rounds; i++) {
        double t0 = now_ms();
        if (nemesis_topology_check_subnet(NEMESIS_DEFAULT_SUBNET, em) != 0) {
            fprintf(stderr, "bench_topology: %s\n", em);
            return 3;
        }
        check[i] = now_ms() - t0;
    }
    printf("subnet check (2 x ip -j), %d rounds:\n", rounds);
    print("check", check, rounds);

    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        for (int i = 0; i < rounds; i++) {
            struct nemesis_topology t;
            char run[8];
            nemesis_run_id_new(run);
            if (nemesis_topology_plan(&t, run, NULL, sizes[s], em) != 0) {
                fprintf(stderr, "bench_topology: %s\n", em);
                return 3;
            }
            double t0 = now_ms();
            if (nemesis_topology_up(&t, em) != 0) {
                fprintf(stderr, "bench_topology: %s\n", em);
                return 3;
            }
            double t1 = now_ms();
            int rc = nemesis_topology_down(&t);
            double t2 = now_ms();
            if (rc != 0) {
                fprintf(stderr, "bench_topology: down: %s\n", fl_strerror(rc));
                return 3;
            }
            up[i] = t1 - t0;
            down[i] = t2 - t1;
        }
        printf("%u nodes, %d rounds:\n", sizes[s], rounds);
        print("up (incl. check)", up, rounds);
        print("down", down, rounds);
    }
    return 0;
}
