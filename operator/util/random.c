/* SPDX-License-Identifier: Apache-2.0 */
#include "random.h"

#include <stdint.h>

#include <openssl/rand.h>

double random_unit(void)
{
        uint32_t v;

        if (RAND_bytes((unsigned char *)&v, sizeof(v)) != 1)
                return 0.5;
        return (double)v / 4294967296.0;
}
