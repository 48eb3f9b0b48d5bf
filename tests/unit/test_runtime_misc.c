/* SPDX-License-Identifier: Apache-2.0 */
/* Flag values: durations and listen addresses. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "runtime/http.h"
#include "util/duration.h"

static void test_durations(void **state)
{
        long ms;

        assert_int_equal(duration_parse_ms("15s", &ms), 0);
        assert_int_equal(ms, 15000);
        assert_int_equal(duration_parse_ms("500ms", &ms), 0);
        assert_int_equal(ms, 500);
        assert_int_equal(duration_parse_ms("1m30s", &ms), 0);
        assert_int_equal(ms, 90000);
        assert_int_equal(duration_parse_ms("2h", &ms), 0);
        assert_int_equal(ms, 7200000);
        assert_int_equal(duration_parse_ms("1.5s", &ms), 0);
        assert_int_equal(ms, 1500);
        assert_int_equal(duration_parse_ms("0", &ms), 0);
        assert_int_equal(ms, 0);
        assert_int_equal(duration_parse_ms("15", &ms), -EINVAL);
        assert_int_equal(duration_parse_ms("-1s", &ms), -EINVAL);
        assert_int_equal(duration_parse_ms("1d", &ms), -EINVAL);
        assert_int_equal(duration_parse_ms("s", &ms), -EINVAL);
        assert_int_equal(duration_parse_ms("", &ms), -EINVAL);
        assert_int_equal(duration_parse_ms("99999999999999999h", &ms), -EINVAL);
}

static void test_listen_addresses(void **state)
{
        struct sockaddr_storage ss;
        unsigned len;
        char buf[64];

        assert_int_equal(http_parse_address(":8080", &ss, &len), 0);
        assert_int_equal(ss.ss_family, AF_INET);
        assert_int_equal(ntohs(((struct sockaddr_in *)&ss)->sin_port), 8080);
        assert_int_equal(((struct sockaddr_in *)&ss)->sin_addr.s_addr, htonl(INADDR_ANY));
        assert_int_equal(http_parse_address("127.0.0.1:0", &ss, &len), 0);
        inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, buf, sizeof(buf));
        assert_string_equal(buf, "127.0.0.1");
        assert_int_equal(http_parse_address("[::1]:8081", &ss, &len), 0);
        assert_int_equal(ss.ss_family, AF_INET6);
        assert_int_equal(len, sizeof(struct sockaddr_in6));
        assert_int_equal(http_parse_address("8080", &ss, &len), -EINVAL);
        assert_int_equal(http_parse_address(":99999", &ss, &len), -EINVAL);
        assert_int_equal(http_parse_address("host.example:80", &ss, &len), -EINVAL);
        assert_int_equal(http_parse_address("[::1:80", &ss, &len), -EINVAL);
        assert_int_equal(http_parse_address(":", &ss, &len), -EINVAL);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_durations),
                cmocka_unit_test(test_listen_addresses),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
