/* SPDX-License-Identifier: Apache-2.0 */
#include "fetch.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

struct sink {
        FILE *f;
        size_t n, max;
        int error;
};

static size_t on_data(char *p, size_t size, size_t nmemb, void *userdata)
{
        struct sink *s = userdata;
        size_t len = size * nmemb;

        if (s->n + len > s->max) {
                s->error = -EFBIG;
                return 0;
        }
        if (fwrite(p, 1, len, s->f) != len) {
                s->error = -EIO;
                return 0;
        }
        s->n += len;
        return len;
}

int fetch_to_file(const char *url, const struct fetch_options *o, const char *path, char *err,
                  size_t errlen)
{
        struct sink s = {.max = o && o->max_bytes ? o->max_bytes : 64u << 20};
        char tmp[4096], cerr[CURL_ERROR_SIZE] = "";
        long code = 0;
        CURLcode cr;
        CURL *h;
        int fd, r = 0;

        if (snprintf(tmp, sizeof(tmp), "%s.part-XXXXXX", path) >= (int)sizeof(tmp)) {
                snprintf(err, errlen, "%s: path too long", path);
                return -ENAMETOOLONG;
        }
        fd = mkostemp(tmp, O_CLOEXEC);
        if (fd < 0) {
                r = -errno;
                snprintf(err, errlen, "%s: %s", tmp, strerror(-r));
                return r;
        }
        s.f = fdopen(fd, "w");
        h = curl_easy_init();
        if (!s.f || !h) {
                if (!s.f)
                        close(fd);
                r = -ENOMEM;
                snprintf(err, errlen, "GET %s: out of memory", url);
                goto out;
        }
        curl_easy_setopt(h, CURLOPT_URL, url);
        curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
        /* never from https down to http */
        curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR,
                         strncmp(url, "https://", 8) == 0 ? "https" : "http,https");
        curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
        curl_easy_setopt(h, CURLOPT_MAXREDIRS, 5L);
        curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 15000L);
        curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, o && o->timeout_ms ? o->timeout_ms : 120000L);
        curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)s.max);
        curl_easy_setopt(h, CURLOPT_USERAGENT, "karmada-operator");
        curl_easy_setopt(h, CURLOPT_ERRORBUFFER, cerr);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, &s);
        if (o && o->proxy && *o->proxy)
                curl_easy_setopt(h, CURLOPT_PROXY, o->proxy);
        if (o && o->ca_file)
                curl_easy_setopt(h, CURLOPT_CAINFO, o->ca_file);
        cr = curl_easy_perform(h);
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
        if (s.error == -EFBIG || cr == CURLE_FILESIZE_EXCEEDED) {
                r = -EFBIG;
                snprintf(err, errlen, "GET %s: larger than %zu bytes", url, s.max);
        } else if (cr != CURLE_OK) {
                r = s.error ? s.error : -EIO;
                snprintf(err, errlen, "GET %s: %s", url, *cerr ? cerr : curl_easy_strerror(cr));
        } else if (code != 200) {
                r = code == 404 ? -ENOENT : -EIO;
                snprintf(err, errlen, "GET %s: HTTP %ld", url, code);
        } else if (fflush(s.f) != 0 || fsync(fileno(s.f)) != 0) {
                r = -errno;
                snprintf(err, errlen, "%s: %s", tmp, strerror(-r));
        }
out:
        if (s.f && fclose(s.f) != 0 && r == 0) {
                r = -errno;
                snprintf(err, errlen, "%s: %s", tmp, strerror(-r));
        }
        curl_easy_cleanup(h);
        if (r == 0 && rename(tmp, path) < 0) {
                r = -errno;
                snprintf(err, errlen, "rename %s: %s", tmp, strerror(-r));
        }
        if (r < 0)
                unlink(tmp);
        return r;
}
