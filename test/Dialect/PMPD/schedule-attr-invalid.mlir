// RUN: pmpd-opt %s --split-input-file --verify-diagnostics

// expected-error @+1 {{decode steps must strictly increase, but step 32 follows step 64}}
module attributes {pmpd.schedule = #pmpd.schedule<prefill = 4, decode = [4 from 0, 3 from 64, 2 from 32]>} {}

// -----

// expected-error @+1 {{decode steps must strictly increase, but step 64 follows step 64}}
module attributes {pmpd.schedule = #pmpd.schedule<prefill = 4, decode = [4 from 0, 3 from 64, 2 from 64]>} {}

// -----

// expected-error @+1 {{first decode stage must start at step 0, got 8}}
module attributes {pmpd.schedule = #pmpd.schedule<prefill = 4, decode = [4 from 8]>} {}

// -----

// expected-error @+1 {{decode precision rises from 2 to 4 bits at step 16; mark the schedule 'nonmonotone' to allow it}}
module attributes {pmpd.schedule = #pmpd.schedule<prefill = 4, decode = [2 from 0, 4 from 16]>} {}

// -----

// expected-error @+1 {{unsupported decode precision 1 bits at step 64; expected 2 to 8, or 16 for fp16}}
module attributes {pmpd.schedule = #pmpd.schedule<prefill = 4, decode = [4 from 0, 1 from 64]>} {}

// -----

// expected-error @+1 {{unsupported prefill precision 10 bits; expected 2 to 8, or 16 for fp16}}
module attributes {pmpd.schedule = #pmpd.schedule<prefill = 10, decode = [4 from 0]>} {}

// -----

// expected-error @+1 {{schedule has no decode stage}}
module attributes {pmpd.schedule = #pmpd.schedule<prefill = 4, decode = []>} {}

// -----

// expected-error @+1 {{learned schedule needs a classifier file name}}
module attributes {pmpd.schedule = #pmpd.schedule<prefill = 4, decode = [4 from 0], learned = "">} {}

// -----

// expected-error @+1 {{a learned schedule is monotone; drop 'nonmonotone'}}
module attributes {pmpd.schedule = #pmpd.schedule<prefill = 4, decode = [4 from 0, 2 from 8], nonmonotone, learned = "s.json">} {}

// -----

// expected-error @+1 {{a learned schedule needs at least two decode stages to choose between}}
module attributes {pmpd.schedule = #pmpd.schedule<prefill = 4, decode = [4 from 0], learned = "s.json">} {}

// -----

// expected-error @+1 {{a learned schedule steps down in precision at every stage; stage 2 has 3 bits after 3}}
module attributes {pmpd.schedule = #pmpd.schedule<prefill = 4, decode = [4 from 0, 3 from 8, 3 from 16], learned = "s.json">} {}

// -----

// expected-error @+1 {{a kv_cache schedule needs its classifiers' file (learned = "FILE")}}
module attributes {pmpd.schedule = #pmpd.schedule<prefill = 4, decode = [4 from 0, 3 from 0], kv_cache>} {}

// -----

// expected-error @+1 {{a kv_cache schedule's stages all start 'from 0' (its classifiers pick the switch steps), but stage 1 starts from 16}}
module attributes {pmpd.schedule = #pmpd.schedule<prefill = 4, decode = [4 from 0, 3 from 16], learned = "kv.json", kv_cache>} {}
