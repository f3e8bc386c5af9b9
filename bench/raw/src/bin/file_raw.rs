//! 4 KiB random reads on the raw `io-uring` crate, DEPTH in flight, each completion issuing
//! the next read. The baseline for bench/file_c.c (same block sequence).
//!   file_raw FILE DEPTH READS

use std::os::fd::AsRawFd;
use std::time::Instant;

use io_uring::{IoUring, opcode, types};

const BLOCK: usize = 4096;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let file = std::fs::File::open(&args[1]).unwrap();
    let depth: usize = args[2].parse().unwrap();
    let target: u64 = args[3].parse().unwrap();
    let blocks = file.metadata().unwrap().len() / BLOCK as u64;
    let mut rng: u64 = 88172645463325252;
    let mut next_block = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng % blocks
    };
    let mut bufs = vec![[0u8; BLOCK]; depth];
    let mut ring: IoUring = IoUring::builder().setup_submit_all().setup_cqsize(1024).build(256).unwrap();
    let fd = types::Fd(file.as_raw_fd());
    let (mut issued, mut done) = (0u64, 0u64);
    // One persistent view of each queue, as a tuned io_uring loop keeps them: completions
    // are handled in place, each issuing the next read straight into the submission queue.
    let (submitter, mut sq, mut cq) = ring.split();
    let t0 = Instant::now();
    for (i, buf) in bufs.iter_mut().enumerate() {
        let e = opcode::Read::new(fd, buf.as_mut_ptr(), BLOCK as u32).offset(next_block() * BLOCK as u64).build().user_data(i as u64);
        // SAFETY: the buffer outlives the ring's use of it.
        unsafe { sq.push(&e).unwrap() };
        issued += 1;
    }
    while done < target {
        sq.sync();
        submitter.submit_and_wait(1).unwrap();
        cq.sync();
        for cqe in &mut cq {
            let (slot, res) = (cqe.user_data(), cqe.result());
            assert_eq!(res, BLOCK as i32);
            done += 1;
            if issued < target {
                let buf = bufs[slot as usize].as_mut_ptr();
                let e = opcode::Read::new(fd, buf, BLOCK as u32).offset(next_block() * BLOCK as u64).build().user_data(slot);
                // SAFETY: as above.
                unsafe { sq.push(&e).unwrap() };
                issued += 1;
            }
        }
        cq.sync();
    }
    let ns = t0.elapsed().as_nanos() as f64;
    println!("RESULT ns_per_op={:.2} ops={}", ns / done as f64, done);
}
