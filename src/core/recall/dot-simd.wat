;; Dot products for the vector index, 16 int8 codes a step with wasm SIMD.
;; Built into dot-simd-bytes.ts by scripts/build-wasm.mjs (npm run build:wasm); a test checks
;; that the bytes there are this file's. Every function needs n a multiple of 16.
(module
  (memory (export "memory") 1)

  ;; Σ q[i] × c[i]: q int16 at $q, c int8 at $c; exact in int32 for the query steps code-space.ts picks.
  ;; Two accumulators: the two halves of each 16 codes add up independently.
  (func $dotI16I8 (export "dotI16I8") (param $q i32) (param $c i32) (param $n i32) (result i32)
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
;; dotI16I8 of the query at $q and each of $count codes, whose offsets from $base are the i32s
  ;; at $list; each sum is written over its offset. Four codes a pass, their loads interleaved:
  ;; a graph walk's codes are scattered over megabytes, so each is a cache miss, and four in
  ;; flight wait for memory once where one after another wait four times (the walk's misses
  ;; were most of its time, profiled at 100k × 384).
  (func (export "dotI16I8List") (param $q i32) (param $list i32) (param $count i32) (param $n i32) (param $base i32)
    (local $end i32) (local $at i32)
    (local $a i32) (local $b i32) (local $c i32) (local $d i32)
    (local $ql v128) (local $qh v128) (local $x v128)
    (local $sa v128) (local $sb v128) (local $sc v128) (local $sd v128)
    (local $off i32)
    (local.set $end (i32.add (local.get $list) (i32.shl (local.get $count) (i32.const 2))))
    (local.set $at (local.get $list))
    (block $quads
      (loop $quad
        (br_if $quads (i32.gt_u (i32.add (local.get $at) (i32.const 16)) (local.get $end)))
        (local.set $a (i32.add (local.get $base) (i32.load (local.get $at))))
        (local.set $b (i32.add (local.get $base) (i32.load offset=4 (local.get $at))))
        (local.set $c (i32.add (local.get $base) (i32.load offset=8 (local.get $at))))
        (local.set $d (i32.add (local.get $base) (i32.load offset=12 (local.get $at))))
        (local.set $sa (v128.const i32x4 0 0 0 0))
        (local.set $sb (v128.const i32x4 0 0 0 0))
        (local.set $sc (v128.const i32x4 0 0 0 0))
        (local.set $sd (v128.const i32x4 0 0 0 0))
        (local.set $off (i32.const 0))
        (block $done
          (loop $step
            (br_if $done (i32.ge_u (local.get $off) (local.get $n)))
            (local.set $ql (v128.load (i32.add (local.get $q) (i32.shl (local.get $off) (i32.const 1)))))
            (local.set $qh (v128.load offset=16 (i32.add (local.get $q) (i32.shl (local.get $off) (i32.const 1)))))
            (local.set $x (v128.load (i32.add (local.get $a) (local.get $off))))
            (local.set $sa (i32x4.add (local.get $sa) (i32x4.add
              (i32x4.dot_i16x8_s (local.get $ql) (i16x8.extend_low_i8x16_s (local.get $x)))
              (i32x4.dot_i16x8_s (local.get $qh) (i16x8.extend_high_i8x16_s (local.get $x))))))
            (local.set $x (v128.load (i32.add (local.get $b) (local.get $off))))
            (local.set $sb (i32x4.add (local.get $sb) (i32x4.add
              (i32x4.dot_i16x8_s (local.get $ql) (i16x8.extend_low_i8x16_s (local.get $x)))
              (i32x4.dot_i16x8_s (local.get $qh) (i16x8.extend_high_i8x16_s (local.get $x))))))
            (local.set $x (v128.load (i32.add (local.get $c) (local.get $off))))
            (local.set $sc (i32x4.add (local.get $sc) (i32x4.add
              (i32x4.dot_i16x8_s (local.get $ql) (i16x8.extend_low_i8x16_s (local.get $x)))
              (i32x4.dot_i16x8_s (local.get $qh) (i16x8.extend_high_i8x16_s (local.get $x))))))
            (local.set $x (v128.load (i32.add (local.get $d) (local.get $off))))
            (local.set $sd (i32x4.add (local.get $sd) (i32x4.add
              (i32x4.dot_i16x8_s (local.get $ql) (i16x8.extend_low_i8x16_s (local.get $x)))
              (i32x4.dot_i16x8_s (local.get $qh) (i16x8.extend_high_i8x16_s (local.get $x))))))
            (local.set $off (i32.add (local.get $off) (i32.const 16)))
            (br $step)))
        (i32.store (local.get $at) (call $lanes (local.get $sa)))
        (i32.store offset=4 (local.get $at) (call $lanes (local.get $sb)))
        (i32.store offset=8 (local.get $at) (call $lanes (local.get $sc)))
        (i32.store offset=12 (local.get $at) (call $lanes (local.get $sd)))
        (local.set $at (i32.add (local.get $at) (i32.const 16)))
        (br $quad)))
    ;; The last one to three, one at a time.
    (block $rest
      (loop $one
        (br_if $rest (i32.ge_u (local.get $at) (local.get $end)))
        (i32.store (local.get $at)
          (call $dotI16I8 (local.get $q) (i32.add (local.get $base) (i32.load (local.get $at))) (local.get $n)))
        (local.set $at (i32.add (local.get $at) (i32.const 4)))
        (br $one))))

  ;; The sum of an i32x4's lanes.
  (func $lanes (param $v v128) (result i32)
    (i32.add
      (i32.add (i32x4.extract_lane 0 (local.get $v)) (i32x4.extract_lane 1 (local.get $v)))
      (i32.add (i32x4.extract_lane 2 (local.get $v)) (i32x4.extract_lane 3 (local.get $v)))))
)
