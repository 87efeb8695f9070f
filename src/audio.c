/**
 * @file audio.c  G.711 (ITU-T G.711 mu-law and A-law) and WAV files
 *
 * Copyright (C) 2026 The sipstub authors
 */
#include <string.h>
#include <stdio.h>
#include <sipstub.h>


enum {
	ULAW_BIAS = 0x84,
	ULAW_CLIP = 32635,
	WAV_MAX = 8 * 1024 * 1024,   /* bytes of PCM data */
};


/* G.711 mu-law: bias, segment (exponent) and 4-bit mantissa */
uint8_t g711_ulaw_enc(int16_t s)
{
	int v = s, sign = 0, seg;

	if (v < 0) {
		v = -v;
		sign = 0x80;
	}

	if (v > ULAW_CLIP)
		v = ULAW_CLIP;

	v += ULAW_BIAS;
	seg = 0;
	while (seg < 7 && v >= (0x100 << seg))
		++seg;

	return (uint8_t)~(sign | (seg << 4) | ((v >> (seg + 3)) & 0x0f));
}


int16_t g711_ulaw_dec(uint8_t u)
{
	int t;

	u = ~u;
	t = ((u & 0x0f) << 3) + ULAW_BIAS;
	t <<= (u & 0x70) >> 4;

	return (int16_t)((u & 0x80) ? ULAW_BIAS - t : t - ULAW_BIAS);
}


uint8_t g711_alaw_enc(int16_t s)
{
	int v = s, mask, seg;
	uint8_t a;

	if (v >= 0) {
		mask = 0xd5;
	}
	else {
		mask = 0x55;
		v = -v - 1;
	}

	v >>= 3;   /* 13 bits */
	seg = 0;
	while (seg < 8 && v >= (0x20 << seg))
		++seg;

	if (seg >= 8)
		return (uint8_t)(0x7f ^ mask);

	a = (uint8_t)(seg << 4);
	a |= (seg < 2) ? (v >> 1) & 0x0f : (v >> seg) & 0x0f;

	return (uint8_t)(a ^ mask);
}


int16_t g711_alaw_dec(uint8_t a)
{
	int t, seg;

	a ^= 0x55;
	t = (a & 0x0f) << 4;
	seg = (a & 0x70) >> 4;

	switch (seg) {

	case 0:
		t += 8;
		break;

	case 1:
		t += 0x108;
		break;

	default:
		t += 0x108;
		t <<= seg - 1;
		break;
	}

	return (int16_t)((a & 0x80) ? t : -t);
}


static uint32_t le32(const uint8_t *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}


static uint16_t le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}


/* The "fmt " chunk: PCM, mono, 16 bit, 8 or 16 kHz */
static int fmt_check(const uint8_t *p, size_t len, uint32_t *ratep)
{
	uint32_t rate;

	if (len < 16 || le16(p) != 1 || le16(p + 2) != 1 ||
	    le16(p + 14) != 16)
		return ENOTSUP;

	rate = le32(p + 4);
	if (rate != 8000 && rate != 16000)
		return ENOTSUP;

	*ratep = rate;

	return 0;
}


/* 16 kHz to 8 kHz: the mean of each pair (a simple low-pass) */
static int pcm_take(int16_t **pcmp, size_t *countp, const uint8_t *p,
		    size_t len, uint32_t rate)
{
	const size_t step = rate / 8000;
	size_t n = len / 2 / step, i;
	int16_t *pcm;

	if (!n)
		return EBADMSG;

	pcm = mem_alloc(n * sizeof(*pcm), NULL);
	if (!pcm)
		return ENOMEM;

	for (i = 0; i < n; ++i) {
		const uint8_t *s = p + i * step * 2;
		int v = (int16_t)le16(s);

		if (step == 2)
			v = (v + (int16_t)le16(s + 2)) / 2;
		pcm[i] = (int16_t)v;
	}

	*pcmp = pcm;
	*countp = n;

	return 0;
}


static int riff_parse(const uint8_t *b, size_t len, int16_t **pcmp,
		      size_t *countp)
{
	uint32_t rate = 0;
	size_t pos = 12;

	if (len < 12 || memcmp(b, "RIFF", 4) || memcmp(b + 8, "WAVE", 4))
		return EBADMSG;

	while (pos + 8 <= len) {
		const uint8_t *ck = b + pos;
		size_t cl = le32(ck + 4);

		if (cl > len - pos - 8)
			cl = len - pos - 8;

		if (!memcmp(ck, "fmt ", 4)) {
			int err = fmt_check(ck + 8, cl, &rate);
			if (err)
				return err;
		}
		else if (!memcmp(ck, "data", 4)) {
			if (!rate)
				return EBADMSG;
			return pcm_take(pcmp, countp, ck + 8, cl, rate);
		}

		pos += 8 + cl + (cl & 1);
	}

	return EBADMSG;
}


/**
 * Read a WAV file (PCM, mono, 16 bit, 8 or 16 kHz) as 8 kHz samples
 *
 * @param path   File name
 * @param pcmp   Samples (mem), set on success
 * @param countp Number of samples
 *
 * @return 0, ENOTSUP for another format, EBADMSG if not a WAV file,
 *         else an errno from reading it
 */
int wav_load(const char *path, int16_t **pcmp, size_t *countp)
{
	uint8_t *buf = NULL;
	FILE *f;
	long n;
	int err;

	if (!path || !pcmp || !countp)
		return EINVAL;

	f = fopen(path, "rb");
	if (!f)
		return errno;

	if (fseek(f, 0, SEEK_END) || (n = ftell(f)) < 0 || n > WAV_MAX ||
	    fseek(f, 0, SEEK_SET)) {
		err = EFBIG;
		goto out;
	}

	buf = mem_alloc(n ? n : 1, NULL);
	if (!buf) {
		err = ENOMEM;
		goto out;
	}

	if (fread(buf, 1, n, f) != (size_t)n) {
		err = EIO;
		goto out;
	}

	err = riff_parse(buf, n, pcmp, countp);

 out:
	mem_deref(buf);
	fclose(f);

	return err;
}
