//! The STOW-RS request body: one DICOM Part 10 file as a `multipart/related` message
//! (RFC 2387) whose part is `application/dicom` (PS3.18 8.6.1.2).

/// The `Content-Type` header value and the body carrying `file` as its only part. The
/// boundary is random and checked to be absent from the file, as RFC 2046 requires.
pub fn related_dicom(file: &[u8]) -> (String, Vec<u8>) {
    let boundary = loop {
        let b = format!("pavseg-{:032x}", rand::random::<u128>());
        if !file.windows(b.len()).any(|w| w == b.as_bytes()) {
            break b;
        }
    };
    let head = format!("--{boundary}\r\nContent-Type: application/dicom\r\n\r\n");
    let tail = format!("\r\n--{boundary}--\r\n");
    let mut body = Vec::with_capacity(head.len() + file.len() + tail.len());
    body.extend_from_slice(head.as_bytes());
    body.extend_from_slice(file);
    body.extend_from_slice(tail.as_bytes());
    (format!("multipart/related; type=\"application/dicom\"; boundary={boundary}"), body)
}

#[cfg(test)]
mod tests {
    use super::related_dicom;

    #[test]
    fn one_dicom_part_between_delimiters() {
        let file = b"\0\0DICM\r\n--not-a-boundary\r\n\xff".to_vec();
        let (content_type, body) = related_dicom(&file);
        let boundary = content_type.rsplit_once("boundary=").unwrap().1;
        assert!(content_type.starts_with("multipart/related; type=\"application/dicom\"; "));
        let text = body.as_slice();
        let open = format!("--{boundary}\r\nContent-Type: application/dicom\r\n\r\n");
        let close = format!("\r\n--{boundary}--\r\n");
        assert!(text.starts_with(open.as_bytes()) && text.ends_with(close.as_bytes()));
        assert_eq!(&text[open.len()..text.len() - close.len()], file.as_slice());
    }
}
