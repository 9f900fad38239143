#ifndef PORTHOLE_VP8_H
#define PORTHOLE_VP8_H

#include <stddef.h>
#include <stdint.h>
#include <vpx/vpx_encoder.h>
#include <vpx/vp8cx.h>

typedef struct {
	vpx_codec_ctx_t ctx;
	vpx_codec_enc_cfg_t cfg;
	vpx_image_t *img;
	vpx_codec_iter_t iter;
} pth_vp8;

typedef struct {
	int width, height, fps, kbps, threads, cpu_used, keyframe_max_dist;
} pth_vp8_params;

pth_vp8 *pth_vp8_new(const pth_vp8_params *p, char *err, int errlen);
// Encodes c->img; 0 on success, else a vpx error code.
int pth_vp8_encode(pth_vp8 *c, int64_t pts, unsigned long duration, int force_key);
// The next frame of the last encode: 1 with data/size/key set, 0 when none is left.
int pth_vp8_next(pth_vp8 *c, const void **data, size_t *size, int *key);
int pth_vp8_set_bitrate(pth_vp8 *c, unsigned kbps);
void pth_vp8_free(pth_vp8 *c);

#endif
