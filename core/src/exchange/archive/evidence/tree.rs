//! RFC 4998 4.2 hash trees: a node is the hash of its children's hashes sorted in binary
//! ascending order and concatenated, so ONE timestamp over the root covers a whole batch, and
//! each leaf keeps only its reduced hash tree (its group, then the siblings of each ancestor).
//!
//! Children are grouped in twos and, when a level has an odd number, the last group takes three:
//! every group has at least two members, so no node is ever the hash of a lone child and a
//! reduced tree is read the same way by every reader of RFC 4998 4.3.

use const_oid::ObjectIdentifier;

use crate::Result;
use crate::crypto::digest;

/// A batch's hash tree: its root, and each leaf's reduced hash tree (in the leaves' order).
#[derive(Debug)]
pub struct HashTree {
    /// What the timestamp covers.
    pub root: Vec<u8>,
    /// Per leaf, the lists from the leaves up; empty for a batch of one (its root is its leaf).
    pub reduced: Vec<Vec<Vec<Vec<u8>>>>,
}

/// Builds the tree over `leaves` (hashes made with `algorithm`; at least one).
pub fn build(algorithm: &ObjectIdentifier, leaves: &[Vec<u8>]) -> Result<HashTree> {
    let mut reduced: Vec<Vec<Vec<Vec<u8>>>> = vec![Vec::new(); leaves.len()];
    // Which node of the current level each leaf sits under.
    let mut position: Vec<usize> = (0..leaves.len()).collect();
    let mut level: Vec<Vec<u8>> = leaves.to_vec();
    let mut first = true;
    while level.len() > 1 {
        let groups = groups(level.len());
        let mut next = Vec::with_capacity(groups.len());
        let mut parent_of = vec![0; level.len()];
        for (g, range) in groups.iter().enumerate() {
            next.push(node(algorithm, &level[range.clone()])?);
            for i in range.clone() {
                parent_of[i] = g;
            }
        }
        for (leaf, at) in position.iter_mut().enumerate() {
            let range = &groups[parent_of[*at]];
            let list: Vec<Vec<u8>> = range
                .clone()
                .filter(|i| first || *i != *at)
                .map(|i| level[i].clone())
                .collect();
            reduced[leaf].push(list);
            *at = parent_of[*at];
        }
        level = next;
        first = false;
    }
    let root = level.pop().unwrap_or_default();
    Ok(HashTree { root, reduced })
}

/// The root a reduced hash tree leads to from `leaf` (RFC 4998 4.3 steps 2–3), or why not.
pub fn root_from(
    algorithm: &ObjectIdentifier,
    leaf: &[u8],
    reduced: &[Vec<Vec<u8>>],
) -> std::result::Result<Vec<u8>, String> {
    let Some((first, higher)) = reduced.split_first() else {
        return Ok(leaf.to_vec());
    };
    if !first.iter().any(|h| h == leaf) {
        return Err("the object's hash is not in the first list of its reduced hash tree".into());
    }
    let mut current = node(algorithm, first).map_err(|e| e.to_string())?;
    for list in higher {
        let mut members = list.clone();
        members.push(current);
        current = node(algorithm, &members).map_err(|e| e.to_string())?;
    }
    Ok(current)
}

/// A node: the hash of `children` sorted in binary ascending order and concatenated.
pub fn node(algorithm: &ObjectIdentifier, children: &[Vec<u8>]) -> Result<Vec<u8>> {
    let mut sorted: Vec<&Vec<u8>> = children.iter().collect();
    sorted.sort();
    let joined: Vec<u8> = sorted.into_iter().flatten().copied().collect();
    digest(algorithm, &joined)
}

/// The ranges of a level of `n` (≥ 2) nodes: twos, the last a three when `n` is odd.
fn groups(n: usize) -> Vec<std::ops::Range<usize>> {
    let mut out: Vec<std::ops::Range<usize>> = (0..n / 2).map(|g| 2 * g..2 * g + 2).collect();
    if n % 2 == 1
        && let Some(last) = out.last_mut()
    {
        last.end = n;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::oids::ID_SHA_256;

    fn leaf(i: u8) -> Vec<u8> {
        digest(&ID_SHA_256, &[i]).unwrap()
    }

    #[test]
    fn rfc_4998_4_3_every_leaf_of_every_batch_size_reaches_the_root() {
        for n in 1..=9u8 {
            let leaves: Vec<Vec<u8>> = (0..n).map(leaf).collect();
            let tree = build(&ID_SHA_256, &leaves).unwrap();
            for (l, reduced) in leaves.iter().zip(&tree.reduced) {
                assert_eq!(root_from(&ID_SHA_256, l, reduced).unwrap(), tree.root);
                // Every list names at least one other hash: no lone child anywhere.
                assert!(reduced.iter().skip(1).all(|list| !list.is_empty()));
            }
            // Another object is not in anyone's first list.
            if n > 1 {
                let err = root_from(&ID_SHA_256, &leaf(200), &tree.reduced[0]).unwrap_err();
                assert!(err.contains("first list"), "{err}");
            }
        }
    }

    #[test]
    fn rfc_4998_4_2_a_node_sorts_its_children() {
        let (a, b) = (leaf(1), leaf(2));
        let ab = node(&ID_SHA_256, &[a.clone(), b.clone()]).unwrap();
        assert_eq!(ab, node(&ID_SHA_256, &[b.clone(), a.clone()]).unwrap());
        let (lo, hi) = if a < b { (a, b) } else { (b, a) };
        assert_eq!(ab, digest(&ID_SHA_256, &[lo, hi].concat()).unwrap());
    }
}
