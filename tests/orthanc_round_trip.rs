//! PACS round trip with Orthanc: a Lua OnStableSeries rule forwards CT series to pavseg, and
//! pavseg sends the SEG back to Orthanc, where it joins the study.

mod common;

use common::orthanc::Orthanc;
use common::*;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(300);

#[test]
fn orthanc_forwards_ct_and_receives_the_seg_in_the_same_study() {
    let t = TempDir::new("orthanc");
    let (_, ph) = make_phantom(&t.path().join("ph"), selectable_phantom(91));
    let ports = Orthanc::ports();
    let cfg = NodeConfig {
        plugins: vec![default_plugin()],
        destinations: vec![("orthanc".into(), "ORTHANC".into(), ports.0)],
        ..NodeConfig::default()
    };
    let node = Node::start(t.path(), &cfg);
    // Lua's SendToModality takes an instance; a whole series goes through the REST API.
    let lua = "function OnStableSeries(seriesId, tags, metadata)\n  if tags['Modality'] == 'CT' then\n    RestApiPost('/modalities/pavseg/store', seriesId)\n  end\nend\n";
    let orthanc = Orthanc::start(
        &t.path().join("orthanc"),
        ports,
        lua,
        serde_json::json!({ "pavseg": ["PAVSEG", "127.0.0.1", node.port] }),
    );
    orthanc.store(&ph.dicom_dir).expect("storescu to Orthanc");
    let seg_in_study = wait_until(WAIT, || orthanc.seg_series_in_study(&ph.study_instance_uid) > 0);
    assert!(
        seg_in_study,
        "no SEG series in the study; node log:\n{}\nOrthanc log:\n{}",
        node.log_text(),
        orthanc.log()
    );
}
