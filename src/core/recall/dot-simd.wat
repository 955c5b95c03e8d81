;; Dot products for the vector index, 16 int8 codes a step with wasm SIMD.
;; Built into dot-simd-bytes.ts by scripts/build-wasm.mjs (npm run build:wasm); a test checks
;; that the bytes there are this file's. Both functions need n a multiple of 16.
(module
  (memory (export "memory") 1)

  ;; Σ q[i] × c[i]: q int16 at $q, c int8 at $c; exact in int32 for the query steps code-space.ts picks.
  ;; Two accumulators: the two halves of each 16 codes add up independently.
  (func (export "dotI16I8") (param $q i32) (param $c i32) (param $n i32) (result i32)
    (local $lo v128) (local $hi v128) (local $end i32) (local $bytes v128)
    (local.set $end (i32.add (local.get $c) (local.get $n)))
    (block $done
      (loop $step
        (br_if $done (i32.ge_u (local.get $c) (local.get $end)))
        (local.set $bytes (v128.load (local.get $c)))
        (local.set $lo (i32x4.add (local.get $lo)
          (i32x4.dot_i16x8_s (v128.load (local.get $q)) (i16x8.extend_low_i8x16_s (local.get $bytes)))))
        (local.set $hi (i32x4.add (local.get $hi)
          (i32x4.dot_i16x8_s (v128.load offset=16 (local.get $q)) (i16x8.extend_high_i8x16_s (local.get $bytes)))))
        (local.set $c (i32.add (local.get $c) (i32.const 16)))
        (local.set $q (i32.add (local.get $q) (i32.const 32)))
        (br $step)))
    (local.set $lo (i32x4.add (local.get $lo) (local.get $hi)))
    (i32.add
      (i32.add (i32x4.extract_lane 0 (local.get $lo)) (i32x4.extract_lane 1 (local.get $lo)))
      (i32.add (i32x4.extract_lane 2 (local.get $lo)) (i32x4.extract_lane 3 (local.get $lo)))))

  ;; Σ a[i] × b[i]: both int8.
  (func (export "dotI8I8") (param $a i32) (param $b i32) (param $n i32) (result i32)
    (local $acc v128) (local $end i32) (local $x v128) (local $y v128)
    (local.set $end (i32.add (local.get $a) (local.get $n)))
    (block $done
      (loop $step
        (br_if $done (i32.ge_u (local.get $a) (local.get $end)))
        (local.set $x (v128.load (local.get $a)))
        (local.set $y (v128.load (local.get $b)))
        (local.set $acc (i32x4.add (local.get $acc)
          (i32x4.dot_i16x8_s (i16x8.extend_low_i8x16_s (local.get $x)) (i16x8.extend_low_i8x16_s (local.get $y)))))
        (local.set $acc (i32x4.add (local.get $acc)
          (i32x4.dot_i16x8_s (i16x8.extend_high_i8x16_s (local.get $x)) (i16x8.extend_high_i8x16_s (local.get $y)))))
        (local.set $a (i32.add (local.get $a) (i32.const 16)))
        (local.set $b (i32.add (local.get $b) (i32.const 16)))
        (br $step)))
    (i32.add
      (i32.add (i32x4.extract_lane 0 (local.get $acc)) (i32x4.extract_lane 1 (local.get $acc)))
      (i32.add (i32x4.extract_lane 2 (local.get $acc)) (i32x4.extract_lane 3 (local.get $acc)))))
)
