//! A fast, non-cryptographic hasher for the executor's small internal maps
//! keyed by values the host chose (module names, call ids): std's SipHash
//! showed in the per-call profile (docs/performance.md). FxHash's mixing
//! (rustc's), without a dependency.

use std::hash::{BuildHasherDefault, Hasher};

/// The hasher; see the module docs.
#[derive(Default, Clone, Copy)]
pub(crate) struct FastHasher(u64);

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl FastHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for FastHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            self.add(u64::from_le_bytes(chunk.try_into().expect("8 bytes")));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut last = [0u8; 8];
            last[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(last));
        }
    }

    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }

    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
}

/// `HashMap<K, V, FastBuild>`.
pub(crate) type FastBuild = BuildHasherDefault<FastHasher>;

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    #[test]
    fn maps_keyed_by_strings_and_ids_work() {
        let mut m: HashMap<String, u32, super::FastBuild> = HashMap::default();
        for (i, name) in ["math", "os.path", "numpy", "a", "abcdefghijklmnop"]
            .iter()
            .enumerate()
        {
            m.insert((*name).to_string(), i as u32);
        }
        assert_eq!(m.get("os.path"), Some(&1));
        assert_eq!(m.get("abcdefghijklmnop"), Some(&4));
        assert_eq!(m.get("abcdefghijklmno"), None);
        let mut ids: HashMap<u64, u64, super::FastBuild> = HashMap::default();
        for i in 0..1000 {
            ids.insert(i, i * 2);
        }
        assert!((0..1000).all(|i| ids[&i] == i * 2));
    }
}
