//! Who may associate: the called AE title must be ours, and the calling AE title must be in
//! the configured list when one is given.

use dicom_ul::association::server::AccessControl;
use dicom_ul::pdu::{AssociationRJServiceUserReason, UserIdentity};

#[derive(Debug, Clone)]
pub struct AllowList {
    pub allowed_calling: Vec<String>,
}

impl AccessControl for AllowList {
    fn check_access(
        &self,
        this_ae_title: &str,
        calling_ae_title: &str,
        called_ae_title: &str,
        _user_identity: Option<&UserIdentity>,
    ) -> Result<(), AssociationRJServiceUserReason> {
        if called_ae_title.trim() != this_ae_title.trim() {
            tracing::warn!(calling_ae = calling_ae_title, called_ae = called_ae_title, "association rejected: called AE title is not ours");
            return Err(AssociationRJServiceUserReason::CalledAETitleNotRecognized);
        }
        let calling = calling_ae_title.trim();
        if !self.allowed_calling.is_empty() && !self.allowed_calling.iter().any(|a| a.trim() == calling) {
            tracing::warn!(calling_ae = calling, "association rejected: calling AE title is not allowed");
            return Err(AssociationRJServiceUserReason::CallingAETitleNotRecognized);
        }
        Ok(())
    }
}
