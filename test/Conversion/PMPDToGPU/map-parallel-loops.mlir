// RUN: pmpd-opt %s --pmpd-map-parallel-loops-to-gpu | FileCheck %s

// The innermost dimension is tiled into blocks of threads (no more threads
// than its static extent); the tiles and the next dimension go to the grid,
// innermost first, and a third outer dimension runs in each thread.

// CHECK-LABEL: func.func @map
// CHECK: scf.parallel (%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}) = {{.*}} step (%{{.*}}, %{{.*}}, %{{.*}}, %[[STEP:.*]]) {
// CHECK: scf.parallel
// CHECK: } {mapping = [#gpu.loop_dim_map<processor = sequential{{.*}}>, #gpu.loop_dim_map<processor = sequential{{.*}}>, #gpu.loop_dim_map<processor = sequential{{.*}}>, #gpu.loop_dim_map<processor = thread_x{{.*}}>]}
// CHECK: } {mapping = [#gpu.loop_dim_map<processor = sequential{{.*}}>, #gpu.loop_dim_map<processor = block_z{{.*}}>, #gpu.loop_dim_map<processor = block_y{{.*}}>, #gpu.loop_dim_map<processor = block_x{{.*}}>]}
func.func @map(%m: memref<2x3x?x64xf32>, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %c64 = arith.constant 64 : index
  %f = arith.constant 1.0 : f32
  scf.parallel (%a, %b, %c, %d) = (%c0, %c0, %c0, %c0) to (%c2, %c3, %n, %c64) step (%c1, %c1, %c1, %c1) {
    memref.store %f, %m[%a, %b, %c, %d] : memref<2x3x?x64xf32>
  }
  return
}

// A copy (into a slice of a cache, say) becomes a parallel loop too.
// CHECK-LABEL: func.func @copy
// CHECK-NOT: memref.copy
// CHECK: scf.parallel
// CHECK: memref.load
// CHECK: memref.store
// CHECK: mapping = [#gpu.loop_dim_map<processor = thread_x
// CHECK: mapping = [#gpu.loop_dim_map<processor = block_x
func.func @copy(%a: memref<?xf32>, %b: memref<?xf32, strided<[2]>>) {
  memref.copy %a, %b : memref<?xf32> to memref<?xf32, strided<[2]>>
  return
}

// A parallel loop inside a reduction loop (what linalg makes of a
// contraction whose reduction is not innermost) runs sequentially in the
// thread; the tile loop's bound is the constant tile, the remainder guarded.
// CHECK-LABEL: func.func @nested
// CHECK: scf.parallel
// CHECK: scf.parallel (%{{.*}}) = (%{{.*}}) to (%[[TILE:.*]]) step
// CHECK: scf.if
// CHECK: scf.for
// CHECK-NOT: scf.parallel
// CHECK: scf.for
// CHECK: memref.store
// CHECK: mapping = [#gpu.loop_dim_map<processor = thread_x
func.func @nested(%m: memref<?x16xf32>, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c16 = arith.constant 16 : index
  %f = arith.constant 1.0 : f32
  scf.parallel (%a) = (%c0) to (%n) step (%c1) {
    scf.for %r = %c0 to %c16 step %c1 {
      scf.parallel (%d) = (%c0) to (%c16) step (%c1) {
        memref.store %f, %m[%a, %d] : memref<?x16xf32>
      }
    }
  }
  return
}
