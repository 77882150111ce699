//! A Merkle tree over a journal's entries, as RFC 9162 section 2.1 defines it for certificate
//! transparency logs: the leaves are the entries' hashes in journal order, a checkpoint signs the
//! root of the tree over the first `size` entries, and an inclusion proof of one entry is the
//! `log2(size)` sibling hashes that lead from its leaf to that root. An archivist holding one
//! entry, its proof and a signed checkpoint can show the entry was in the journal when the
//! checkpoint was made without the rest of the journal (EDE 6.2, 7.3).

use crate::crypto::sha256;

/// A node or leaf hash.
pub type Hash = [u8; 32];

/// The leaf hash of one entry: `SHA-256(0x00 || entry hash)`.
pub fn leaf_hash(entry_hash: &Hash) -> Hash {
    let mut input = [0_u8; 33];
    input[1..].copy_from_slice(entry_hash);
    sha256(&input)
}

fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut input = [0_u8; 65];
    input[0] = 1;
    input[1..33].copy_from_slice(left);
    input[33..].copy_from_slice(right);
    sha256(&input)
}

/// The largest power of two smaller than `n` (n ≥ 2).
fn split(n: usize) -> usize {
    let mut k = 1;
    while k * 2 < n {
        k *= 2;
    }
    k
}

/// The root over `leaves` (leaf hashes, not entry hashes); `SHA-256("")` for none.
pub fn root(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => sha256(&[]),
        1 => leaves[0],
        n => {
            let k = split(n);
            node_hash(&root(&leaves[..k]), &root(&leaves[k..]))
        }
    }
}

/// The audit path of leaf `index` in the tree over `leaves`, nearest sibling first; `None` if
/// `index` is outside the tree.
pub fn inclusion_proof(leaves: &[Hash], index: usize) -> Option<Vec<Hash>> {
    if index >= leaves.len() {
        return None;
    }
    let mut path = Vec::new();
    let (mut lo, mut hi, mut m) = (0, leaves.len(), index);
    // Walk down from the root, collecting the sibling subtree at each level, then reverse.
    while hi - lo > 1 {
        let k = split(hi - lo);
        if m < k {
            path.push(root(&leaves[lo + k..hi]));
            hi = lo + k;
        } else {
            path.push(root(&leaves[lo..lo + k]));
            lo += k;
            m -= k;
        }
    }
    path.reverse();
    Some(path)
}

/// Whether `path` leads from `leaf` (at `index` in a tree of `size` leaves) to `root`
/// (RFC 9162 section 2.1.3.2). The root does not bind `size` by itself: the signed statement
/// that names the root must name the size too.
pub fn verify_inclusion(leaf: &Hash, index: u64, size: u64, path: &[Hash], root: &Hash) -> bool {
    if index >= size {
        return false;
    }
    let (mut f, mut s, mut r) = (index, size - 1, *leaf);
    for p in path {
        if s == 0 {
            return false;
        }
        if f & 1 == 1 || f == s {
            r = node_hash(p, &r);
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        f >>= 1;
        s >>= 1;
    }
    s == 0 && r == *root
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// The leaves of the certificate-transparency reference test vectors.
    const LEAVES: [&str; 8] = [
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ];

    /// Their roots for the trees of 1 to 8 leaves.
    const ROOTS: [&str; 8] = [
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ];

    fn vector_leaves() -> Vec<Hash> {
        LEAVES
            .iter()
            .map(|l| {
                let mut input = vec![0];
                input.extend(hex::decode(l).unwrap());
                sha256(&input)
            })
            .collect()
    }

    #[test]
    fn roots_match_the_reference_vectors() {
        let leaves = vector_leaves();
        for n in 1..=8 {
            assert_eq!(hex::encode(root(&leaves[..n])), ROOTS[n - 1], "size {n}");
        }
        assert_eq!(
            hex::encode(root(&[])),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn every_leaf_of_every_tree_size_proves_its_inclusion() {
        let leaves: Vec<Hash> = (0_u32..70)
            .map(|i| leaf_hash(&sha256(&i.to_be_bytes())))
            .collect();
        for size in 1..=leaves.len() {
            let tree = &leaves[..size];
            let top = root(tree);
            for index in 0..size {
                let path = inclusion_proof(tree, index).unwrap();
                let (i, n) = (index as u64, size as u64);
                assert!(
                    verify_inclusion(&tree[index], i, n, &path, &top),
                    "{index} of {size}"
                );
                assert!(path.len() <= 7);
            }
        }
    }

    #[test]
    fn a_proof_fails_for_another_leaf_position_size_or_root() {
        let leaves = vector_leaves();
        let top = root(&leaves[..7]);
        let path = inclusion_proof(&leaves[..7], 3).unwrap();
        assert!(verify_inclusion(&leaves[3], 3, 7, &path, &top));
        assert!(!verify_inclusion(&leaves[4], 3, 7, &path, &top));
        assert!(!verify_inclusion(&leaves[3], 2, 7, &path, &top));
        assert!(!verify_inclusion(&leaves[3], 3, 4, &path, &top));
        assert!(!verify_inclusion(&leaves[3], 3, 7, &path[1..], &top));
        assert!(!verify_inclusion(&leaves[3], 3, 7, &path, &root(&leaves)));
        assert!(!verify_inclusion(&leaves[3], 7, 7, &path, &top));
        assert!(inclusion_proof(&leaves[..7], 7).is_none());
    }
}
