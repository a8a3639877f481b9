//! PLACEHOLDER (being replaced by the phantom anatomy work).
pub struct Anatomy;
impl Anatomy {
    pub fn grow(_seed: u64) -> Self {
        Anatomy
    }
}
