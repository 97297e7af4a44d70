#ifndef CCOHORT_OPUS_SHIM_H
#define CCOHORT_OPUS_SHIM_H
// libopus for Cohort. opus_encoder_ctl and opus_decoder_ctl are variadic;
// each request Cohort uses gets a typed static inline wrapper here.
#include <opus/opus.h>

static inline int cohort_opus_set_bitrate(OpusEncoder *enc, opus_int32 bps) {
    return opus_encoder_ctl(enc, OPUS_SET_BITRATE(bps));
}
static inline int cohort_opus_set_complexity(OpusEncoder *enc, opus_int32 c) {
    return opus_encoder_ctl(enc, OPUS_SET_COMPLEXITY(c));
}
static inline int cohort_opus_set_inband_fec(OpusEncoder *enc, opus_int32 on) {
    return opus_encoder_ctl(enc, OPUS_SET_INBAND_FEC(on));
}
static inline int cohort_opus_set_packet_loss_perc(OpusEncoder *enc, opus_int32 perc) {
    return opus_encoder_ctl(enc, OPUS_SET_PACKET_LOSS_PERC(perc));
}
static inline int cohort_opus_set_dtx(OpusEncoder *enc, opus_int32 on) {
    return opus_encoder_ctl(enc, OPUS_SET_DTX(on));
}
static inline int cohort_opus_set_signal_voice(OpusEncoder *enc) {
    return opus_encoder_ctl(enc, OPUS_SET_SIGNAL(OPUS_SIGNAL_VOICE));
}
static inline int cohort_opus_encoder_reset(OpusEncoder *enc) {
    return opus_encoder_ctl(enc, OPUS_RESET_STATE);
}
static inline int cohort_opus_decoder_reset(OpusDecoder *dec) {
    return opus_decoder_ctl(dec, OPUS_RESET_STATE);
}

#endif
