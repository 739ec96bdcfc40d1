/*===- NPUProtocol.h - Host <-> NPU offload process messages ----*- C -*-===*
 *
 * A Hexagon artifact is a program that runs as an offload process (under
 * qemu-hexagon here, as the DSP is reached through FastRPC on a phone): the
 * weights and the KV cache live in it, the host sends requests on its stdin
 * and reads replies from its stdout. Both sides include this header (the
 * artifact's C start-up and the runtime's C++ executor); all fields are
 * little-endian and naturally aligned.
 *
 *   process start:  argv = {binary, weights file, weights bytes}
 *   process -> host: PMPDNPUHello
 *   host -> process: PMPDNPURequest [+ int64 ids[count] for prefill]
 *   process -> host: PMPDNPUReply [+ f32 logits[rows][cols] if status OK]
 *
 *===----------------------------------------------------------------------===*/

#ifndef PMPD_RUNTIME_NPUPROTOCOL_H
#define PMPD_RUNTIME_NPUPROTOCOL_H

#include <stdint.h>

#define PMPD_NPU_MAGIC "PMPDNPU1"
#define PMPD_NPU_GEOMETRY_FIELDS 7

enum PMPDNPUOp {
  PMPD_NPU_QUIT = 0,
  PMPD_NPU_PREFILL = 1, /* a = position, b = count; ids follow */
  PMPD_NPU_DECODE = 2,  /* a = step, b = position, c = token id */
  PMPD_NPU_RESET = 3,   /* a learned schedule's state starts over */
};

enum PMPDNPUStatus {
  PMPD_NPU_OK = 0,
  /* An unknown op, a position outside the cache, an id outside the
   * vocabulary; a prefill count outside the cache also ends the process (its
   * ids are not read). */
  PMPD_NPU_BAD_REQUEST = 1,
  PMPD_NPU_OUT_OF_MEMORY = 2,
  PMPD_NPU_NO_WEIGHTS = 3, /* hello: the weights file cannot be mapped */
};

/* The process's first message: who it is and what its code was compiled
 * for (ArtifactGeometry's fields, in order), or a failure to start. */
typedef struct PMPDNPUHello {
  char magic[8];
  int32_t status;
  int32_t reserved;
  int64_t geometry[PMPD_NPU_GEOMETRY_FIELDS];
} PMPDNPUHello;

typedef struct PMPDNPURequest {
  int32_t op;
  int32_t reserved;
  int64_t a, b, c;
} PMPDNPURequest;

typedef struct PMPDNPUReply {
  int32_t status;
  int32_t bits; /* decode: the precision the switch point chose */
  int64_t rows, cols;
} PMPDNPUReply;

#endif /* PMPD_RUNTIME_NPUPROTOCOL_H */
