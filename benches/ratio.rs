//! Shared by every benchmark (`#[path = "ratio.rs"] mod ratio;`): per-round samples of
//! the modes a benchmark compares, the per-round ratios between them, and the ratio lines
//! `benches/check.sh` reads:
//!
//! ```text
//! name kind = ratio (lo-hi)   (an optional note)
//! ```
//!
//! `ratio` is the median over the rounds of the ratio measured within each round (the
//! modes run alternately, one after the other, in every round), `lo-hi` the smallest and
//! the largest of those per-round ratios.

// Each benchmark uses only some of this.
#![allow(dead_code)]

/// One sample per mode per round: the modes of a round are measured alternately, one after
/// the other, so that a round's ratio compares measurements taken under the same load.
pub struct Rounds<const N: usize>([Vec<f64>; N]);

impl<const N: usize> Default for Rounds<N> {
    fn default() -> Self {
        Self([const { Vec::new() }; N])
    }
}

impl<const N: usize> Rounds<N> {
    pub fn new() -> Self {
        Self::default()
    }

    /// Records the sample of `mode` in the current round.
    pub fn push(&mut self, mode: usize, sample: f64) {
        self.0[mode].push(sample);
    }

    /// The median of the samples of `mode`.
    pub fn median(&self, mode: usize) -> f64 {
        median(&self.0[mode])
    }

    /// The median of the samples of each mode.
    pub fn medians(&self) -> [f64; N] {
        std::array::from_fn(|m| self.median(m))
    }

    /// `f` of each round's samples (one per mode), round by round.
    pub fn per_round(&self, f: impl Fn([f64; N]) -> f64) -> Vec<f64> {
        let rounds = self.0[0].len();
        assert!(
            self.0.iter().all(|s| s.len() == rounds),
            "every mode needs one sample per round"
        );
        (0..rounds)
            .map(|r| f(std::array::from_fn(|m| self.0[m][r])))
            .collect()
    }

    /// The ratio of mode `num` to mode `den` in each round.
    pub fn ratios(&self, num: usize, den: usize) -> Vec<f64> {
        self.per_round(|s| s[num] / s[den])
    }
}

/// The median of `samples` (the upper one of the middle two for an even count).
pub fn median(samples: &[f64]) -> f64 {
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted[sorted.len() / 2]
}

/// Prints `label = median (lo-hi)` of the per-round `ratios`, with three decimals, then
/// `note` (if not empty) after three spaces.
pub fn print(label: &str, ratios: &[f64], note: &str) {
    print_with(label, ratios, 3, note);
}

/// [`print`] with `digits` decimals.
pub fn print_with(label: &str, ratios: &[f64], digits: usize, note: &str) {
    let lo = ratios.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = ratios.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let m = median(ratios);
    let note = if note.is_empty() {
        String::new()
    } else {
        format!("   {note}")
    };
    println!("{label} = {m:.digits$} ({lo:.digits$}-{hi:.digits$}){note}");
}
