/* base64.c -- RFC 4648 base64 (base64.h). */
#include "base64.h"

#include <stdlib.h>

static const char std_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t cm_base64_len(size_t n)
{
    return 4 * ((n + 2) / 3);
}

size_t cm_base64_encode(const void *in, size_t n, char *out)
{
    const unsigned char *p = in;
    char *o = out;
    size_t i = 0;
    for (; i + 2 < n; i += 3) {
        unsigned v = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8 | p[i + 2];
        *o++ = std_alphabet[v >> 18];
        *o++ = std_alphabet[(v >> 12) & 63];
        *o++ = std_alphabet[(v >> 6) & 63];
        *o++ = std_alphabet[v & 63];
    }
    if (i < n) {
        unsigned v = (unsigned)p[i] << 16 | (i + 1 < n ? (unsigned)p[i + 1] << 8 : 0u);
        *o++ = std_alphabet[v >> 18];
        *o++ = std_alphabet[(v >> 12) & 63];
        *o++ = i + 1 < n ? std_alphabet[(v >> 6) & 63] : '=';
        *o++ = '=';
    }
    *o = 0;
    return (size_t)(o - out);
}

size_t cm_base64url_encode(const void *in, size_t n, char *out)
{
    size_t len = cm_base64_encode(in, n, out);
    while (len > 0 && out[len - 1] == '=')
        out[--len] = 0;
    for (size_t i = 0; i < len; i++) {
        if (out[i] == '+')
            out[i] = '-';
        else if (out[i] == '/')
            out[i] = '_';
    }
    return len;
}

char *cm_base64_dup(const void *in, size_t n)
{
    char *out = malloc(cm_base64_len(n) + 1);
    if (out)
        cm_base64_encode(in, n, out);
    return out;
}

static int value_of(int c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

static long decode(const char *in, size_t len, unsigned char *out, int url)
{
    while (!url && len > 0 && in[len - 1] == '=')
        len--;
    if (len % 4 == 1)
        return -1;
    size_t o = 0;
    unsigned acc = 0;
    int bits = 0;
    for (size_t i = 0; i < len; i++) {
        int c = (unsigned char)in[i];
        if (url && (c == '+' || c == '/'))
            return -1;
        int v = url && c == '-' ? 62 : url && c == '_' ? 63 : value_of(c);
        if (v < 0)
            return -1;
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (unsigned char)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    return (long)o;
}

long cm_base64_decode(const char *in, size_t len, unsigned char *out)
{
    return decode(in, len, out, 0);
}

long cm_base64url_decode(const char *in, size_t len, unsigned char *out)
{
    return decode(in, len, out, 1);
}
