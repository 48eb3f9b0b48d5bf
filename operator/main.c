/* SPDX-License-Identifier: Apache-2.0 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "version.h"

static void usage(FILE *f)
{
        fprintf(f, "Usage: karmada-operator [OPTIONS]\n"
                   "\n"
                   "Runs Karmada control planes declared by Karmada custom resources\n"
                   "(operator.karmada.io/v1alpha1) in a host cluster.\n"
                   "\n"
                   "Options:\n"
                   "  -h, --help       show this help and exit\n"
                   "      --version    print the version and exit\n");
}

int main(int argc, char **argv)
{
        static const struct option opts[] = {
                {"help", no_argument, NULL, 'h'},
                {"version", no_argument, NULL, 'V'},
                {0},
        };
        int c;

        while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
                switch (c) {
                case 'h':
                        usage(stdout);
                        return EXIT_SUCCESS;
                case 'V':
                        printf("karmada-operator %s\n", KO_VERSION);
                        return EXIT_SUCCESS;
                default:
                        usage(stderr);
                        return 2;
                }
        }
        if (optind < argc) {
                fprintf(stderr, "karmada-operator: unexpected argument '%s'\n", argv[optind]);
                usage(stderr);
                return 2;
        }
        usage(stderr);
        return 2;
}
