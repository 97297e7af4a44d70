#ifndef CCOHORT_SRTP_SHIM_H
#define CCOHORT_SRTP_SHIM_H
// libsrtp2 for Cohort. Macros wrapped as static inline functions named cohort_*.
#include <srtp2/srtp.h>

#endif
