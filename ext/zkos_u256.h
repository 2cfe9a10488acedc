/* 256-bit EVM words as four little-endian uint64 limbs (w[0] least significant), for
 * zkos_tw._ext._evm (ext/_evm.pyx).
 *
 * Every operation matches the pure-Python instruction of the same name in
 * zkos_tw/execution/instructions/ (arithmetic modulo 2**256, two's-complement signed forms,
 * division by zero gives zero); tests/execution/test_differential.py checks them against it.
 * Division is Knuth's algorithm D (TAOCP 4.3.1, as in Hacker's Delight divmnu) on 64-bit limbs.
 */
#ifndef ZKOS_U256_H
#define ZKOS_U256_H

#include <stdint.h>
#include <string.h>
#include <Python.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "zkos_u256.h assumes a little-endian host (limbs are copied to and from Python ints as bytes)"
#endif

typedef unsigned __int128 zk_u128;

static inline int zk_is_zero(const uint64_t *a) { return (a[0] | a[1] | a[2] | a[3]) == 0; }

static inline void zk_set_u64(uint64_t *r, uint64_t v) { r[0] = v; r[1] = r[2] = r[3] = 0; }

static inline int zk_fits_u64(const uint64_t *a) { return (a[1] | a[2] | a[3]) == 0; }

/* The value as an unsigned 64-bit number, or `big` when it does not fit below `big`. */
static inline uint64_t zk_clamp(const uint64_t *a, uint64_t big) {
    if (a[1] | a[2] | a[3]) return big;
    return a[0] < big ? a[0] : big;
}

static inline int zk_eq(const uint64_t *a, const uint64_t *b) {
    return ((a[0] ^ b[0]) | (a[1] ^ b[1]) | (a[2] ^ b[2]) | (a[3] ^ b[3])) == 0;
}

static inline int zk_lt(const uint64_t *a, const uint64_t *b) {
    int i;
    for (i = 3; i >= 0; i--)
        if (a[i] != b[i]) return a[i] < b[i];
    return 0;
}

static inline int zk_slt(const uint64_t *a, const uint64_t *b) {
    int sa = (int)(a[3] >> 63), sb = (int)(b[3] >> 63);
    if (sa != sb) return sa > sb;
    return zk_lt(a, b);
}

static inline void zk_add(uint64_t *r, const uint64_t *a, const uint64_t *b) {
    zk_u128 t = 0;
    int i;
    for (i = 0; i < 4; i++) {
        t += (zk_u128)a[i] + b[i];
        r[i] = (uint64_t)t;
        t >>= 64;
    }
}

static inline void zk_sub(uint64_t *r, const uint64_t *a, const uint64_t *b) {
    uint64_t borrow = 0;
    int i;
    for (i = 0; i < 4; i++) {
        uint64_t x = a[i], y = b[i];
        uint64_t d = x - y - borrow;
        borrow = (x < y) | ((x == y) & borrow);
        r[i] = d;
    }
}

static inline void zk_neg(uint64_t *r, const uint64_t *a) {
    static const uint64_t zero[4] = {0, 0, 0, 0};
    zk_sub(r, zero, a);
}

/* r = a * b mod 2**256 (r may alias a or b). */
static inline void zk_mul(uint64_t *r, const uint64_t *a, const uint64_t *b) {
    uint64_t out[4] = {0, 0, 0, 0};
    int i, j;
    for (i = 0; i < 4; i++) {
        zk_u128 carry = 0;
        if (a[i] == 0) continue;
        for (j = 0; i + j < 4; j++) {
            zk_u128 t = (zk_u128)a[i] * b[j] + out[i + j] + carry;
            out[i + j] = (uint64_t)t;
            carry = t >> 64;
        }
    }
    memcpy(r, out, 32);
}

/* The full 512-bit product (8 limbs). */
static inline void zk_mul_full(uint64_t *r, const uint64_t *a, const uint64_t *b) {
    int i, j;
    memset(r, 0, 64);
    for (i = 0; i < 4; i++) {
        zk_u128 carry = 0;
        for (j = 0; j < 4; j++) {
            zk_u128 t = (zk_u128)a[i] * b[j] + r[i + j] + carry;
            r[i + j] = (uint64_t)t;
            carry = t >> 64;
        }
        r[i + 4] = (uint64_t)carry;
    }
}

static inline int zk_limbs(const uint64_t *a, int n) {
    while (n > 0 && a[n - 1] == 0) n--;
    return n;
}

/* Knuth D: u (m limbs) divided by v (n limbs, v[n-1] != 0, m >= n). q gets m-n+1 limbs,
 * r gets n limbs. m <= 8, n <= 4. */
static void zk_divmnu(uint64_t *q, uint64_t *r, const uint64_t *u, const uint64_t *v, int m, int n) {
    uint64_t un[9], vn[4];
    int i, j, s;
    if (n == 1) {
        uint64_t k = 0;
        for (j = m - 1; j >= 0; j--) {
            zk_u128 t = ((zk_u128)k << 64) | u[j];
            q[j] = (uint64_t)(t / v[0]);
            k = (uint64_t)(t - (zk_u128)q[j] * v[0]);
        }
        r[0] = k;
        return;
    }
    s = __builtin_clzll(v[n - 1]);
    for (i = n - 1; i > 0; i--) vn[i] = (v[i] << s) | (s ? v[i - 1] >> (64 - s) : 0);
    vn[0] = v[0] << s;
    un[m] = s ? u[m - 1] >> (64 - s) : 0;
    for (i = m - 1; i > 0; i--) un[i] = (u[i] << s) | (s ? u[i - 1] >> (64 - s) : 0);
    un[0] = u[0] << s;
    for (j = m - n; j >= 0; j--) {
        zk_u128 num = ((zk_u128)un[j + n] << 64) | un[j + n - 1];
        zk_u128 qhat = num / vn[n - 1];
        zk_u128 rhat = num - qhat * vn[n - 1];
        uint64_t carry = 0, borrow = 0, top;
        zk_u128 sub;
        while (qhat >> 64 || qhat * vn[n - 2] > ((rhat << 64) | un[j + n - 2])) {
            qhat--;
            rhat += vn[n - 1];
            if (rhat >> 64) break;
        }
        for (i = 0; i < n; i++) {
            zk_u128 p = (zk_u128)(uint64_t)qhat * vn[i] + carry;
            uint64_t plo = (uint64_t)p;
            uint64_t x = un[i + j];
            uint64_t t = x - plo;
            uint64_t b1 = x < plo;
            uint64_t t2 = t - borrow;
            uint64_t b2 = t < borrow;
            carry = (uint64_t)(p >> 64);
            un[i + j] = t2;
            borrow = b1 + b2;
        }
        top = un[j + n];
        sub = (zk_u128)carry + borrow;
        un[j + n] = top - (uint64_t)sub;
        q[j] = (uint64_t)qhat;
        if ((zk_u128)top < sub) {
            uint64_t c = 0;
            q[j]--;
            for (i = 0; i < n; i++) {
                zk_u128 t = (zk_u128)un[i + j] + vn[i] + c;
                un[i + j] = (uint64_t)t;
                c = (uint64_t)(t >> 64);
            }
            un[j + n] += c;
        }
    }
    for (i = 0; i < n - 1; i++) r[i] = (un[i] >> s) | (s ? un[i + 1] << (64 - s) : 0);
    r[n - 1] = un[n - 1] >> s;
}

/* Unsigned quotient and remainder of a (ulimbs limbs, up to 8) by d (4 limbs); zero divisor
 * gives zero for both. Either output may be NULL. */
static void zk_udivrem(uint64_t *quot, uint64_t *rem, const uint64_t *a, int ulimbs, const uint64_t *d) {
    uint64_t q[8], r[4];
    int m = zk_limbs(a, ulimbs), n = zk_limbs(d, 4), i;
    memset(q, 0, sizeof(q));
    memset(r, 0, sizeof(r));
    if (n == 0) {
        /* x / 0 = x % 0 = 0 */
    } else if (m < n) {
        for (i = 0; i < m; i++) r[i] = a[i];
    } else if (m == 1) {
        q[0] = a[0] / d[0];
        r[0] = a[0] % d[0];
    } else {
        zk_divmnu(q, r, a, d, m, n);
    }
    if (quot) memcpy(quot, q, 32);
    if (rem) memcpy(rem, r, 32);
}

static inline void zk_div(uint64_t *r, const uint64_t *a, const uint64_t *b) { zk_udivrem(r, NULL, a, 4, b); }

static inline void zk_mod(uint64_t *r, const uint64_t *a, const uint64_t *b) { zk_udivrem(NULL, r, a, 4, b); }

static inline void zk_sdiv(uint64_t *r, const uint64_t *a, const uint64_t *b) {
    uint64_t x[4], y[4];
    int na = (int)(a[3] >> 63), nb = (int)(b[3] >> 63);
    if (na) zk_neg(x, a); else memcpy(x, a, 32);
    if (nb) zk_neg(y, b); else memcpy(y, b, 32);
    zk_udivrem(r, NULL, x, 4, y);
    if (na != nb) zk_neg(r, r);
}

static inline void zk_smod(uint64_t *r, const uint64_t *a, const uint64_t *b) {
    uint64_t x[4], y[4];
    int na = (int)(a[3] >> 63), nb = (int)(b[3] >> 63);
    if (na) zk_neg(x, a); else memcpy(x, a, 32);
    if (nb) zk_neg(y, b); else memcpy(y, b, 32);
    zk_udivrem(NULL, r, x, 4, y);
    if (na) zk_neg(r, r);
}

static inline void zk_addmod(uint64_t *r, const uint64_t *a, const uint64_t *b, const uint64_t *n) {
    uint64_t s[5];
    zk_u128 t = 0;
    int i;
    for (i = 0; i < 4; i++) {
        t += (zk_u128)a[i] + b[i];
        s[i] = (uint64_t)t;
        t >>= 64;
    }
    s[4] = (uint64_t)t;
    zk_udivrem(NULL, r, s, 5, n);
}

static inline void zk_mulmod(uint64_t *r, const uint64_t *a, const uint64_t *b, const uint64_t *n) {
    uint64_t p[8];
    if (zk_is_zero(n)) { zk_set_u64(r, 0); return; }
    zk_mul_full(p, a, b);
    zk_udivrem(NULL, r, p, 8, n);
}

static inline int zk_bit_length(const uint64_t *a) {
    int i;
    for (i = 3; i >= 0; i--)
        if (a[i]) return 64 * i + 64 - __builtin_clzll(a[i]);
    return 0;
}

/* r = base ** exponent mod 2**256 */
static inline void zk_exp(uint64_t *r, const uint64_t *base, const uint64_t *exponent) {
    uint64_t result[4] = {1, 0, 0, 0}, b[4];
    int bits = zk_bit_length(exponent), i;
    memcpy(b, base, 32);
    for (i = 0; i < bits; i++) {
        if ((exponent[i >> 6] >> (i & 63)) & 1) zk_mul(result, result, b);
        if (i + 1 < bits) zk_mul(b, b, b);
    }
    memcpy(r, result, 32);
}

static inline void zk_shl(uint64_t *r, const uint64_t *a, unsigned shift) {
    uint64_t out[4] = {0, 0, 0, 0};
    unsigned limbs = shift >> 6, bits = shift & 63;
    int i;
    if (shift < 256) {
        for (i = 3; i >= (int)limbs; i--) {
            out[i] = a[i - limbs] << bits;
            if (bits && i - (int)limbs - 1 >= 0) out[i] |= a[i - limbs - 1] >> (64 - bits);
        }
    }
    memcpy(r, out, 32);
}

static inline void zk_shr(uint64_t *r, const uint64_t *a, unsigned shift) {
    uint64_t out[4] = {0, 0, 0, 0};
    unsigned limbs = shift >> 6, bits = shift & 63;
    int i;
    if (shift < 256) {
        for (i = 0; i + (int)limbs < 4; i++) {
            out[i] = a[i + limbs] >> bits;
            if (bits && i + limbs + 1 < 4) out[i] |= a[i + limbs + 1] << (64 - bits);
        }
    }
    memcpy(r, out, 32);
}

static inline void zk_sar(uint64_t *r, const uint64_t *a, unsigned shift) {
    int negative = (int)(a[3] >> 63);
    uint64_t x[4];
    if (!negative) { zk_shr(r, a, shift); return; }
    if (shift >= 256) { r[0] = r[1] = r[2] = r[3] = ~0ULL; return; }
    /* sar(a) = ~shr(~a) for negative a */
    x[0] = ~a[0]; x[1] = ~a[1]; x[2] = ~a[2]; x[3] = ~a[3];
    zk_shr(x, x, shift);
    r[0] = ~x[0]; r[1] = ~x[1]; r[2] = ~x[2]; r[3] = ~x[3];
}

static inline void zk_signextend(uint64_t *r, const uint64_t *byte_num, const uint64_t *value) {
    unsigned bit, limb, i;
    uint64_t mask;
    memmove(r, value, 32); /* r may be value */
    if (!zk_fits_u64(byte_num) || byte_num[0] >= 31) return;
    bit = (unsigned)byte_num[0] * 8 + 7;
    limb = bit >> 6;
    mask = (bit & 63) == 63 ? ~0ULL : ((1ULL << ((bit & 63) + 1)) - 1);
    if ((value[limb] >> (bit & 63)) & 1) {
        r[limb] |= ~mask;
        for (i = limb + 1; i < 4; i++) r[i] = ~0ULL;
    } else {
        r[limb] &= mask;
        for (i = limb + 1; i < 4; i++) r[i] = 0;
    }
}

static inline void zk_byte(uint64_t *r, const uint64_t *index, const uint64_t *word) {
    uint64_t v = 0;
    if (zk_fits_u64(index) && index[0] < 32) {
        unsigned pos = 31 - (unsigned)index[0];
        v = (word[pos >> 3] >> ((pos & 7) * 8)) & 0xFF;
    }
    zk_set_u64(r, v);
}

/* Big-endian bytes <-> limbs (memory words, keccak digests, code). */
static inline uint64_t zk_load_be64(const uint8_t *p) {
    uint64_t v;
    memcpy(&v, p, 8);
    return __builtin_bswap64(v);
}

static inline void zk_store_be64(uint8_t *p, uint64_t v) {
    v = __builtin_bswap64(v);
    memcpy(p, &v, 8);
}

static inline void zk_from_be32(uint64_t *r, const uint8_t *p) {
    r[3] = zk_load_be64(p);
    r[2] = zk_load_be64(p + 8);
    r[1] = zk_load_be64(p + 16);
    r[0] = zk_load_be64(p + 24);
}

static inline void zk_to_be32(uint8_t *p, const uint64_t *a) {
    zk_store_be64(p, a[3]);
    zk_store_be64(p + 8, a[2]);
    zk_store_be64(p + 16, a[1]);
    zk_store_be64(p + 24, a[0]);
}

/* The word made of `size` (< 32 allowed) big-endian bytes at p, zero-extended on the left. */
static inline void zk_from_be(uint64_t *r, const uint8_t *p, unsigned size) {
    uint8_t buf[32];
    memset(buf, 0, 32);
    memcpy(buf + 32 - size, p, size);
    zk_from_be32(r, buf);
}

/* Python int (non-negative, < 2**256) <-> limbs. */
static inline PyObject *zk_to_pylong(const uint64_t *a) {
    if ((a[1] | a[2] | a[3]) == 0) return PyLong_FromUnsignedLongLong(a[0]);
    return _PyLong_FromByteArray((const unsigned char *)a, 32, 1, 0);
}

static inline int zk_from_pylong(PyObject *v, uint64_t *r) {
#if PY_VERSION_HEX >= 0x030D0000
    return _PyLong_AsByteArray((PyLongObject *)v, (unsigned char *)r, 32, 1, 0, 1);
#else
    return _PyLong_AsByteArray((PyLongObject *)v, (unsigned char *)r, 32, 1, 0);
#endif
}

/* EVM memory gas: 3 per word plus words**2 / 512, for a memory of `words` 32-byte words. */
static inline int64_t zk_memory_cost(uint64_t words) {
    return (int64_t)(3 * words + words * words / 512);
}

#endif

/* The storage slots a transaction's compiled frames have read or written (see ext/_evm.pyx,
 * "storage cache"): an open-addressing map of (address, slot) -> current value, and the
 * original value (EIP-2200) once it is known. Every slot in it is warm. One map serves all the
 * frames of one compiled call tree; it is emptied whenever state may have changed behind it. */
#define ZK_SLOTS 2048
#define ZK_SLOT_ORIGINAL 2   /* flag: `original` holds the value at the start of the tx */
typedef struct {
    uint64_t address[3];     /* the 20-byte address, zero-padded */
    uint64_t key[4];
    uint64_t current[4];
    uint64_t original[4];
} zk_slot_entry;

typedef struct {
    zk_slot_entry entries[ZK_SLOTS];
    uint8_t used[ZK_SLOTS];  /* 0 free, else 1 | ZK_SLOT_ORIGINAL */
    int count;
    /* 1 while every storage write of the transaction so far went through this map: set when
     * the map starts with a depth-0 frame (no slot written yet in the transaction), cleared
     * with the map. While it is 1, a slot not in the map was not written in the transaction,
     * so the value read for it is also its original value. */
    int fresh;
} zk_slot_cache;

/* Make a freshly allocated map empty: only the used flags need zeroing (the entries are read
 * only where a flag is set). */
static inline void zk_slots_init(zk_slot_cache *c) {
    memset(c->used, 0, sizeof(c->used));
    c->count = 0;
    c->fresh = 0;
}

static inline void zk_slots_clear(zk_slot_cache *c) {
    c->fresh = 0;
    if (c->count) {
        memset(c->used, 0, sizeof(c->used));
        c->count = 0;
    }
}

static inline unsigned zk_slot_hash(const uint64_t *address, const uint64_t *k) {
    uint64_t h = k[0] ^ (k[1] * 0x9E3779B97F4A7C15ULL) ^ (k[2] * 0xC2B2AE3D27D4EB4FULL) ^
                 (k[3] * 0x165667B19E3779F9ULL) ^ (address[0] * 0xD6E8FEB86659FD93ULL) ^
                 (address[1] * 0xA0761D6478BD642FULL) ^ (address[2] * 0xE7037ED1A0B428DBULL);
    h *= 0x9E3779B97F4A7C15ULL;
    return (unsigned)(h >> 53);   /* 11 bits: ZK_SLOTS */
}

static inline int zk_slot_matches(const zk_slot_entry *e, const uint64_t *address,
                                  const uint64_t *k) {
    return zk_eq(e->key, k) && e->address[0] == address[0] && e->address[1] == address[1] &&
           e->address[2] == address[2];
}

/* The entry of (address, k), or NULL. */
static inline zk_slot_entry *zk_slots_find(zk_slot_cache *c, const uint64_t *address,
                                           const uint64_t *k, uint8_t **flags) {
    unsigned i = zk_slot_hash(address, k), n;
    for (n = 0; n < ZK_SLOTS; n++, i = (i + 1) & (ZK_SLOTS - 1)) {
        if (!c->used[i]) return NULL;
        if (zk_slot_matches(&c->entries[i], address, k)) {
            *flags = &c->used[i];
            return &c->entries[i];
        }
    }
    return NULL;
}

/* The entry of (address, k), added (with no original value) if it is not there; a map half
 * full forgets everything first. */
static inline zk_slot_entry *zk_slots_add(zk_slot_cache *c, const uint64_t *address,
                                          const uint64_t *k, uint8_t **flags) {
    unsigned i;
    zk_slot_entry *e;
    if (c->count >= ZK_SLOTS / 2) zk_slots_clear(c);
    i = zk_slot_hash(address, k);
    while (c->used[i]) {
        if (zk_slot_matches(&c->entries[i], address, k)) {
            *flags = &c->used[i];
            return &c->entries[i];
        }
        i = (i + 1) & (ZK_SLOTS - 1);
    }
    c->used[i] = 1;
    c->count++;
    e = &c->entries[i];
    memcpy(e->address, address, 24);
    memcpy(e->key, k, 32);
    *flags = &c->used[i];
    return e;
}

/* The 20 bytes of an address as three words (for the map's key). */
static inline void zk_address_words(uint64_t *r, const uint8_t *p) {
    r[2] = 0;
    memcpy(r, p, 20);
}
