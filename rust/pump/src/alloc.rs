//! Fallible allocation: an allocation that fails is an error the caller
//! sees ([`OutOfMemory`], which the binding raises as `MemoryError`), never
//! an abort of the whole process.
//!
//! `Vec`s are grown with `try_reserve`; what `Arc` would share is shared
//! through [`Shared`], a reference-counted box whose creation can fail.

use std::alloc::{alloc, dealloc, Layout};
use std::collections::TryReserveError;
use std::fmt;
use std::marker::PhantomData;
use std::ops::Deref;
use std::ptr::NonNull;
use std::sync::atomic::{fence, AtomicUsize, Ordering};

/// An allocation failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OutOfMemory;

impl fmt::Display for OutOfMemory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("out of memory")
    }
}

impl std::error::Error for OutOfMemory {}

impl From<TryReserveError> for OutOfMemory {
    fn from(_: TryReserveError) -> Self {
        Self
    }
}

/// Make room for one more element in `vec`, or fail.
pub fn reserve_one<T>(vec: &mut Vec<T>) -> Result<(), OutOfMemory> {
    vec.try_reserve(1).map_err(OutOfMemory::from)
}

struct Inner<T> {
    refs: AtomicUsize,
    value: T,
}

/// A thread-safe, reference-counted box (like `Arc`) whose allocation can
/// fail: [`Shared::try_new`] returns [`OutOfMemory`] instead of aborting.
pub struct Shared<T> {
    ptr: NonNull<Inner<T>>,
    owns: PhantomData<Inner<T>>,
}

// SAFETY: like `Arc<T>`: the value is shared between threads, so it must be
// both `Send` and `Sync`; the count is atomic.
unsafe impl<T: Send + Sync> Send for Shared<T> {}
// SAFETY: as above.
unsafe impl<T: Send + Sync> Sync for Shared<T> {}

impl<T> Shared<T> {
    /// Box `value` with a count of one.
    ///
    /// # Errors
    ///
    /// [`OutOfMemory`] when the allocation fails.
    pub fn try_new(value: T) -> Result<Self, OutOfMemory> {
        let layout = Layout::new::<Inner<T>>();
        // SAFETY: `Inner<T>` holds an `AtomicUsize`, so its size is not zero.
        let raw = unsafe { alloc(layout) }.cast::<Inner<T>>();
        let ptr = NonNull::new(raw).ok_or(OutOfMemory)?;
        // SAFETY: `ptr` is a fresh allocation with the layout of `Inner<T>`.
        unsafe {
            ptr.as_ptr().write(Inner {
                refs: AtomicUsize::new(1),
                value,
            });
        }
        Ok(Self {
            ptr,
            owns: PhantomData,
        })
    }

    fn inner(&self) -> &Inner<T> {
        // SAFETY: the allocation lives while any `Shared` points to it.
        unsafe { self.ptr.as_ref() }
    }
}

impl<T> Deref for Shared<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.inner().value
    }
}

impl<T> Clone for Shared<T> {
    fn clone(&self) -> Self {
        // Relaxed, as in `Arc`: a new reference can only come from an
        // existing one, which keeps the value alive meanwhile.
        if self.inner().refs.fetch_add(1, Ordering::Relaxed) > isize::MAX as usize {
            std::process::abort(); // billions of leaked references: a bug
        }
        Self {
            ptr: self.ptr,
            owns: PhantomData,
        }
    }
}

impl<T> Drop for Shared<T> {
    fn drop(&mut self) {
        if self.inner().refs.fetch_sub(1, Ordering::Release) != 1 {
            return;
        }
        // Every other owner's last use happens before the value is dropped.
        fence(Ordering::Acquire);
        // SAFETY: this was the last reference; the allocation came from
        // `alloc` with this layout and holds an initialised `Inner<T>`.
        unsafe {
            std::ptr::drop_in_place(self.ptr.as_ptr());
            dealloc(self.ptr.as_ptr().cast(), Layout::new::<Inner<T>>());
        }
    }
}

/// Recycled byte buffers, so a worker's hops share a few warm buffers
/// instead of each holding its own.
///
/// A buffer is taken for one chunk and given back once the chunk is written;
/// at most `keep` idle buffers are kept.
pub struct BufferPool {
    idle: Vec<Vec<u8>>,
    keep: usize,
}

impl BufferPool {
    /// A pool that keeps up to `keep` idle buffers.
    ///
    /// # Errors
    ///
    /// [`OutOfMemory`] when its small index cannot be allocated.
    pub fn try_new(keep: usize) -> Result<Self, OutOfMemory> {
        let mut idle = Vec::new();
        idle.try_reserve_exact(keep)?;
        Ok(Self { idle, keep })
    }

    /// An empty buffer with room for at least `size` bytes.
    ///
    /// # Errors
    ///
    /// [`OutOfMemory`] when a new buffer is needed and cannot be allocated.
    pub fn take(&mut self, size: usize) -> Result<Vec<u8>, OutOfMemory> {
        while let Some(buffer) = self.idle.pop() {
            if buffer.capacity() >= size {
                return Ok(buffer);
            }
        }
        let mut buffer = Vec::new();
        buffer.try_reserve_exact(size)?;
        Ok(buffer)
    }

    /// Give a buffer back (it is freed if enough are idle).
    pub fn give(&mut self, mut buffer: Vec<u8>) {
        if self.idle.len() < self.keep {
            buffer.clear();
            self.idle.push(buffer); // capacity reserved in `try_new`
        }
    }

    /// How many idle buffers are kept now.
    #[cfg(test)]
    pub fn idle(&self) -> usize {
        self.idle.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicBool;

    struct Flag<'a>(&'a AtomicBool);

    impl Drop for Flag<'_> {
        fn drop(&mut self) {
            self.0.store(true, Ordering::SeqCst);
        }
    }

    #[test]
    fn shared_drops_its_value_with_the_last_reference() {
        let dropped = AtomicBool::new(false);
        let first = Shared::try_new(Flag(&dropped)).unwrap();
        let second = first.clone();
        drop(first);
        assert!(!dropped.load(Ordering::SeqCst));
        drop(second);
        assert!(dropped.load(Ordering::SeqCst));
    }

    #[test]
    fn shared_is_shared_across_threads() {
        let counter = Shared::try_new(AtomicUsize::new(0)).unwrap();
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let counter = counter.clone();
                std::thread::spawn(move || {
                    for _ in 0..1000 {
                        counter.fetch_add(1, Ordering::Relaxed);
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        assert_eq!(counter.load(Ordering::Relaxed), 4000);
    }

    #[test]
    fn an_impossible_buffer_is_out_of_memory_not_an_abort() {
        let mut pool = BufferPool::try_new(2).unwrap();
        assert_eq!(pool.take(usize::MAX / 2), Err(OutOfMemory));
    }

    #[test]
    fn the_pool_recycles_and_bounds_idle_buffers() {
        let mut pool = BufferPool::try_new(1).unwrap();
        let first = pool.take(4096).unwrap();
        let pointer = first.as_ptr();
        let second = pool.take(4096).unwrap();
        pool.give(first);
        pool.give(second);
        assert_eq!(pool.idle(), 1);
        let again = pool.take(1024).unwrap();
        assert_eq!(again.as_ptr(), pointer);
        assert!(pool.take(8192).unwrap().capacity() >= 8192);
    }
}
