// label_append lowered (ds-opt --ds-to-ptx=stop-after-lowering), then given 64 KB of static
// shared memory (a workgroup attribution of 16384 f32): NVPTX compiles it, ptxas refuses it
// (the static limit is 48 KB). ds-compile.test checks that the refusal is an error.
module attributes {gpu.container_module} {
  ds.plan @label_append attributes {args = ["new_k in bf16 align=16 new_k_d0 8 128", "channels in i32 align=16 8 16", "slot_mapping in i32 align=16 new_k_d0", "label_cache inout bf16 align=16 8 label_cache_d1 16"], ds.target = #ds.target<chip = "sm_90", sm_count = 132, smem_per_block = 232448, regs_per_sm = 65536, l2_bytes = 52428800, ptx = 80>, symbols = ["new_k_d0 arg 0 dim 0", "label_cache_d1 arg 3 dim 1"], workspace = "0"} {
    ds.launch @ds_kernels::@label_append_label_append_0 {block = array<i64: 256, 1, 1>, grid = ["cdiv((new_k_d0)*128,256)", "1", "1"], params = ["ptr arg 0", "ptr arg 1", "ptr arg 3", "ptr arg 2", "i64 (new_k_d0)*128", "i64 label_cache_d1"], smem = "0"}
  }
  gpu.module @ds_kernels {
    gpu.func @label_append_label_append_0(%arg0: memref<281474976710656xbf16>, %arg1: memref<281474976710656xi32>, %arg2: memref<281474976710656xbf16>, %arg3: memref<281474976710656xi32>, %arg4: i64, %arg5: i64) workgroup(%big : memref<16384xf32, #gpu.address_space<workgroup>>) kernel attributes {known_block_size = array<i32: 256, 1, 1>} {
      %thread_id_x = gpu.thread_id  x
      %zero = arith.constant 0.0 : f32
      memref.store %zero, %big[%thread_id_x] : memref<16384xf32, #gpu.address_space<workgroup>>
      %c256 = arith.constant 256 : index
      %block_id_x = gpu.block_id  x
      %0 = arith.muli %block_id_x, %c256 : index
      %1 = arith.addi %0, %thread_id_x : index
      %2 = arith.index_cast %arg4 : i64 to index
      %3 = arith.cmpi ult, %1, %2 : index
      scf.if %3 {
        %c16 = arith.constant 16 : index
        %4 = arith.remui %1, %c16 : index
        %c8 = arith.constant 8 : index
        %c16_0 = arith.constant 16 : index
        %5 = arith.divui %1, %c16_0 : index
        %6 = arith.remui %5, %c8 : index
        %c128 = arith.constant 128 : index
        %7 = arith.divui %1, %c128 : index
        %c1 = arith.constant 1 : index
        %8 = arith.divui %6, %c1 : index
        %c16_1 = arith.constant 16 : index
        %9 = arith.muli %8, %c16_1 : index
        %10 = arith.addi %9, %4 : index
        %11 = memref.load %arg1[%10] : memref<281474976710656xi32>
        %c128_2 = arith.constant 128 : index
        %c0_i32 = arith.constant 0 : i32
        %12 = arith.cmpi sge, %11, %c0_i32 : i32
        %13 = arith.index_cast %11 : i32 to index
        %14 = arith.cmpi slt, %13, %c128_2 : index
        %15 = arith.andi %12, %14 : i1
        %c0 = arith.constant 0 : index
        %16 = arith.index_cast %11 : i32 to index
        %17 = arith.select %15, %16, %c0 : index
        %c128_3 = arith.constant 128 : index
        %c8_4 = arith.constant 8 : index
        %18 = arith.muli %7, %c8_4 : index
        %19 = arith.addi %18, %6 : index
        %20 = arith.muli %19, %c128_3 : index
        %21 = arith.addi %20, %17 : index
        %22 = memref.load %arg0[%21] : memref<281474976710656xbf16>
        %cst = arith.constant 0.000000e+00 : bf16
        %23 = arith.select %15, %22, %cst : bf16
        %24 = memref.load %arg3[%7] : memref<281474976710656xi32>
        %25 = arith.index_cast %arg5 : i64 to index
        %c0_i32_5 = arith.constant 0 : i32
        %26 = arith.cmpi sge, %24, %c0_i32_5 : i32
        %27 = arith.index_cast %24 : i32 to index
        %28 = arith.cmpi slt, %27, %25 : index
        %29 = arith.andi %26, %28 : i1
        scf.if %29 {
          %c16_6 = arith.constant 16 : index
          %30 = arith.index_cast %24 : i32 to index
          %31 = arith.muli %6, %25 : index
          %32 = arith.addi %31, %30 : index
          %33 = arith.muli %32, %c16_6 : index
          %34 = arith.addi %33, %4 : index
          memref.store %23, %arg2[%34] : memref<281474976710656xbf16>
        }
      }
      nvvm.griddepcontrol  launch_dependents
      gpu.return
    }
  }
}

