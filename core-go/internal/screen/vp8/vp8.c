#include "vp8.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

pth_vp8 *pth_vp8_new(const pth_vp8_params *p, char *err, int errlen) {
	pth_vp8 *c = calloc(1, sizeof *c);
	if (!c) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	vpx_codec_iface_t *iface = vpx_codec_vp8_cx();
	vpx_codec_err_t rc = vpx_codec_enc_config_default(iface, &c->cfg, 0);
	if (rc) {
		snprintf(err, errlen, "config default: %s", vpx_codec_err_to_string(rc));
		free(c);
		return NULL;
	}
	vpx_codec_enc_cfg_t *cfg = &c->cfg;
	cfg->g_w = p->width;
	cfg->g_h = p->height;
	cfg->g_timebase.num = 1; // pts in milliseconds
	cfg->g_timebase.den = 1000;
	cfg->g_threads = p->threads;
	cfg->g_pass = VPX_RC_ONE_PASS;
	cfg->g_lag_in_frames = 0; // realtime: a frame out for every frame in
	cfg->g_error_resilient = VPX_ERROR_RESILIENT_DEFAULT; // a lost frame does not poison the next ones' entropy
	cfg->rc_end_usage = VPX_CBR;
	cfg->rc_target_bitrate = p->kbps;
	// Screen content: sharp text wants low quantizers when the budget allows;
	// 52 caps the blur of a busy screen at a low bitrate.
	cfg->rc_min_quantizer = 2;
	cfg->rc_max_quantizer = 52;
	cfg->rc_undershoot_pct = 100;
	cfg->rc_overshoot_pct = 15;
	// Rate buffer in ms: small so that the encoder reacts within a second to
	// congestion control, as WebRTC's own VP8 encoder does.
	cfg->rc_buf_sz = 1000;
	cfg->rc_buf_initial_sz = 500;
	cfg->rc_buf_optimal_sz = 600;
	cfg->rc_dropframe_thresh = 0; // never drop: a dropped screen frame is a visible freeze
	cfg->kf_mode = VPX_KF_AUTO;
	cfg->kf_min_dist = 0;
	cfg->kf_max_dist = p->keyframe_max_dist;

	rc = vpx_codec_enc_init(&c->ctx, iface, cfg, 0);
	if (rc) {
		snprintf(err, errlen, "encoder init: %s", vpx_codec_err_to_string(rc));
		free(c);
		return NULL;
	}
	// cpu_used is negative: realtime speed level (see the Go side).
	vpx_codec_control(&c->ctx, VP8E_SET_CPUUSED, p->cpu_used);
	vpx_codec_control(&c->ctx, VP8E_SET_SCREEN_CONTENT_MODE, 1);
	// Blocks that did not change are skipped without motion search.
	vpx_codec_control(&c->ctx, VP8E_SET_STATIC_THRESHOLD, 1);
	vpx_codec_control(&c->ctx, VP8E_SET_NOISE_SENSITIVITY, 0);
	vpx_codec_control(&c->ctx, VP8E_SET_TOKEN_PARTITIONS, VP8_ONE_TOKENPARTITION);
	// A keyframe may take at most 3 frames' worth of bits, so that one does
	// not stall the stream on a full screen of text (WebRTC uses the same bound).
	vpx_codec_control(&c->ctx, VP8E_SET_MAX_INTRA_BITRATE_PCT, 300);

	c->img = vpx_img_alloc(NULL, VPX_IMG_FMT_I420, p->width, p->height, 16);
	if (!c->img) {
		snprintf(err, errlen, "out of memory for the image");
		vpx_codec_destroy(&c->ctx);
		free(c);
		return NULL;
	}
	return c;
}

int pth_vp8_encode(pth_vp8 *c, int64_t pts, unsigned long duration, int force_key) {
	c->iter = NULL;
	return vpx_codec_encode(&c->ctx, c->img, pts, duration, force_key ? VPX_EFLAG_FORCE_KF : 0, VPX_DL_REALTIME);
}

int pth_vp8_next(pth_vp8 *c, const void **data, size_t *size, int *key) {
	const vpx_codec_cx_pkt_t *pkt;
	while ((pkt = vpx_codec_get_cx_data(&c->ctx, &c->iter)) != NULL) {
		if (pkt->kind != VPX_CODEC_CX_FRAME_PKT) continue;
		*data = pkt->data.frame.buf;
		*size = pkt->data.frame.sz;
		*key = (pkt->data.frame.flags & VPX_FRAME_IS_KEY) != 0;
		return 1;
	}
	return 0;
}

int pth_vp8_set_bitrate(pth_vp8 *c, unsigned kbps) {
	c->cfg.rc_target_bitrate = kbps;
	return vpx_codec_enc_config_set(&c->ctx, &c->cfg);
}

void pth_vp8_free(pth_vp8 *c) {
	if (!c) return;
	vpx_codec_destroy(&c->ctx);
	if (c->img) vpx_img_free(c->img);
	free(c);
}
