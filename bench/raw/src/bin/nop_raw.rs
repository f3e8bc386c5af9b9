//! NOP round trip on the raw `io-uring` crate: push BATCH nops, one submit_and_wait, drain
//! the completion queue through a callback. The baseline for bench/nop_c.c.
//!   nop_raw BATCH OPS

use std::hint::black_box;
use std::time::Instant;

use io_uring::{IoUring, opcode};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let batch: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(32);
    let ops: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(1_000_000);
    let mut ring: IoUring = IoUring::builder().setup_submit_all().setup_cqsize(4 * batch.max(256) as u32).build(batch.max(256) as u32).unwrap();
    let mut delivered = 0usize;
    // A callback through a function pointer, as the library's delivery does.
    let cb: fn(&mut usize, i32) = |n, res| *n += (res == 0) as usize;
    let cb = black_box(cb);
    let t0 = Instant::now();
    let mut done = 0;
    while done < ops {
        {
            let mut sq = ring.submission();
            for i in 0..batch {
                // SAFETY: a nop points at no memory.
                unsafe { sq.push(&opcode::Nop::new().build().user_data(i as u64)).unwrap() };
            }
        }
        ring.submit_and_wait(batch).unwrap();
        for cqe in ring.completion() {
            cb(&mut delivered, cqe.result());
        }
        done += batch;
    }
    let ns = t0.elapsed().as_nanos() as f64;
    println!("RESULT ns_per_op={:.2} ops={}", ns / delivered as f64, delivered);
}
