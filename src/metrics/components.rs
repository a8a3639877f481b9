//! 26-connected components of a labelled grid, one walk for every caller: a component is a
//! maximal 26-connected set of voxels with one non-zero value.

/// Calls `visit(value, voxels)` once per component of `(k, j, i)`-shaped `labels` (flat,
/// raster order; 0 is background), with the component's flat indices.
pub fn for_each_component(labels: &[u8], (nk, nj, ni): (usize, usize, usize), mut visit: impl FnMut(u8, &[usize])) {
    debug_assert_eq!(labels.len(), nk * nj * ni);
    let mut seen = vec![false; labels.len()];
    let (mut stack, mut component) = (Vec::new(), Vec::new());
    for start in 0..labels.len() {
        let value = labels[start];
        if value == 0 || seen[start] {
            continue;
        }
        component.clear();
        stack.push(start);
        seen[start] = true;
        while let Some(idx) = stack.pop() {
            component.push(idx);
            let (k, j, i) = (idx / (nj * ni), (idx / ni) % nj, idx % ni);
            for kk in k.saturating_sub(1)..(k + 2).min(nk) {
                for jj in j.saturating_sub(1)..(j + 2).min(nj) {
                    for ii in i.saturating_sub(1)..(i + 2).min(ni) {
                        let n = (kk * nj + jj) * ni + ii;
                        if !seen[n] && labels[n] == value {
                            seen[n] = true;
                            stack.push(n);
                        }
                    }
                }
            }
        }
        visit(value, &component);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diagonal_neighbours_join_and_values_separate() {
        // 1 1 0 2 | a diagonal 1 one row down.
        let labels = [1u8, 1, 0, 2, 0, 0, 1, 0];
        let mut found = Vec::new();
        for_each_component(&labels, (1, 2, 4), |v, c| found.push((v, c.to_vec())));
        assert_eq!(found, vec![(1, vec![0, 1, 6]), (2, vec![3])]);
    }
}
