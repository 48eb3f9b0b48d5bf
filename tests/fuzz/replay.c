/* SPDX-License-Identifier: Apache-2.0 */
/* Runs a libFuzzer target over files or directories of inputs, without libFuzzer, so the
 * corpus is replayed under CTest by any compiler (and under the sanitizers). */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util/fileio.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path)
{
        char *buf = NULL;
        size_t len = 0;

        if (fileio_read(path, 16u << 20, &buf, &len) < 0) {
                fprintf(stderr, "%s: cannot read\n", path);
                return 1;
        }
        LLVMFuzzerTestOneInput((const uint8_t *)buf, len);
        free(buf);
        return 0;
}

int main(int argc, char **argv)
{
        int failed = 0, n = 0;

        for (int i = 1; i < argc; i++) {
                struct stat st;
                DIR *d;
                struct dirent *e;

                if (stat(argv[i], &st) < 0) {
                        fprintf(stderr, "%s: not found\n", argv[i]);
                        return 1;
                }
                if (!S_ISDIR(st.st_mode)) {
                        failed |= run_file(argv[i]);
                        n++;
                        continue;
                }
                d = opendir(argv[i]);
                while (d && (e = readdir(d))) {
                        char path[4096];
                        if (e->d_name[0] == '.')
                                continue;
                        snprintf(path, sizeof(path), "%s/%s", argv[i], e->d_name);
                        failed |= run_file(path);
                        n++;
                }
                if (d)
                        closedir(d);
        }
        printf("replayed %d inputs\n", n);
        return failed || n == 0;
}
