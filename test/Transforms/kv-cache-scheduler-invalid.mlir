// Every malformed kv-cache scheduler file is an error naming the file, the
// field and the problem. Each case is one line of Inputs/kv-scheduler-bad.jsonl.
// DEFINE: %{assign} = pmpd-opt %s --mlir-print-op-on-diagnostic=false --pmpd-assign-precision

// RUN: grep '^MALFORMED ' %S/Inputs/kv-scheduler-bad.jsonl | cut -d' ' -f2- > %t.malformed.json
// RUN: not %{assign}='schedule=prefill=4;decode=kv-cache:%t.malformed.json' 2>&1 | FileCheck %s --check-prefix=MALFORMED
// MALFORMED: error: invalid schedule 'prefill=4;decode=kv-cache:{{.*}}.malformed.json': {{.*}}.malformed.json: malformed JSON: 

// RUN: grep '^FORMAT ' %S/Inputs/kv-scheduler-bad.jsonl | cut -d' ' -f2- > %t.format.json
// RUN: not %{assign}='schedule=prefill=4;decode=kv-cache:%t.format.json' 2>&1 | FileCheck %s --check-prefix=FORMAT
// FORMAT: error: invalid schedule 'prefill=4;decode=kv-cache:{{.*}}.format.json': {{.*}}.format.json: not a kv-cache scheduler: "format" must be "pmpd-kv-cache-scheduler"

// RUN: grep '^VERSION ' %S/Inputs/kv-scheduler-bad.jsonl | cut -d' ' -f2- > %t.version.json
// RUN: not %{assign}='schedule=prefill=4;decode=kv-cache:%t.version.json' 2>&1 | FileCheck %s --check-prefix=VERSION
// VERSION: error: invalid schedule 'prefill=4;decode=kv-cache:{{.*}}.version.json': {{.*}}.version.json: unsupported version 2; this build reads version 1

// RUN: grep '^MISSING ' %S/Inputs/kv-scheduler-bad.jsonl | cut -d' ' -f2- > %t.missing.json
// RUN: not %{assign}='schedule=prefill=4;decode=kv-cache:%t.missing.json' 2>&1 | FileCheck %s --check-prefix=MISSING
// MISSING: error: invalid schedule 'prefill=4;decode=kv-cache:{{.*}}.missing.json': {{.*}}.missing.json: missing value at kv-cache-scheduler.heads

// RUN: grep '^TYPE ' %S/Inputs/kv-scheduler-bad.jsonl | cut -d' ' -f2- > %t.type.json
// RUN: not %{assign}='schedule=prefill=4;decode=kv-cache:%t.type.json' 2>&1 | FileCheck %s --check-prefix=TYPE
// TYPE: error: invalid schedule 'prefill=4;decode=kv-cache:{{.*}}.type.json': {{.*}}.type.json: expected array at kv-cache-scheduler.classifiers[1].query

// RUN: grep '^RISE ' %S/Inputs/kv-scheduler-bad.jsonl | cut -d' ' -f2- > %t.rise.json
// RUN: not %{assign}='schedule=prefill=4;decode=kv-cache:%t.rise.json' 2>&1 | FileCheck %s --check-prefix=RISE
// RISE: error: invalid schedule 'prefill=4;decode=kv-cache:{{.*}}.rise.json': {{.*}}.rise.json: "bits" must fall strictly: 4 follows 4

// RUN: grep '^STEPS ' %S/Inputs/kv-scheduler-bad.jsonl | cut -d' ' -f2- > %t.steps.json
// RUN: not %{assign}='schedule=prefill=4;decode=kv-cache:%t.steps.json' 2>&1 | FileCheck %s --check-prefix=STEPS
// STEPS: error: invalid schedule 'prefill=4;decode=kv-cache:{{.*}}.steps.json': {{.*}}.steps.json: "switch_steps" must be steps (>= 0) in increasing order

// RUN: grep '^COUNT ' %S/Inputs/kv-scheduler-bad.jsonl | cut -d' ' -f2- > %t.count.json
// RUN: not %{assign}='schedule=prefill=4;decode=kv-cache:%t.count.json' 2>&1 | FileCheck %s --check-prefix=COUNT
// COUNT: error: invalid schedule 'prefill=4;decode=kv-cache:{{.*}}.count.json': {{.*}}.count.json: expected one classifier per switch, 2 for bits 3 precisions; got 1

// RUN: grep '^PAIR ' %S/Inputs/kv-scheduler-bad.jsonl | cut -d' ' -f2- > %t.pair.json
// RUN: not %{assign}='schedule=prefill=4;decode=kv-cache:%t.pair.json' 2>&1 | FileCheck %s --check-prefix=PAIR
// PAIR: error: invalid schedule 'prefill=4;decode=kv-cache:{{.*}}.pair.json': {{.*}}.pair.json: classifiers[1] decides 4 -> 2 bits; expected 3 -> 2

// RUN: grep '^SIZE ' %S/Inputs/kv-scheduler-bad.jsonl | cut -d' ' -f2- > %t.size.json
// RUN: not %{assign}='schedule=prefill=4;decode=kv-cache:%t.size.json' 2>&1 | FileCheck %s --check-prefix=SIZE
// SIZE: error: invalid schedule 'prefill=4;decode=kv-cache:{{.*}}.size.json': {{.*}}.size.json: classifiers[0].out_bias has 3 numbers; expected 4

// A file that is not there.
// RUN: not %{assign}='schedule=prefill=4;decode=kv-cache:%t.absent.json' 2>&1 | FileCheck %s --check-prefix=ABSENT
// ABSENT: error: invalid schedule 'prefill=4;decode=kv-cache:{{.*}}.absent.json': {{.*}}.absent.json: cannot read the kv-cache scheduler: No such file or directory

// The explicit form must list every stage from step 0.
// RUN: not %{assign}='schedule=prefill=4;decode=4@0,3@8,2@0;learned=%S/Inputs/kv-scheduler-4-3-2.json;kv-cache' 2>&1 | FileCheck %s --check-prefix=FROM
// FROM: error: invalid schedule {{.*}}: a kv_cache schedule's stages all start 'from 0' (its classifiers pick the switch steps), but stage 1 starts from 8

// RUN: not %{assign}='schedule=prefill=4;decode=4@0,3@0;kv-cache' 2>&1 | FileCheck %s --check-prefix=NOFILE
// NOFILE: error: invalid schedule {{.*}}: a kv_cache schedule needs its classifiers' file (learned = "FILE")

module {
}
