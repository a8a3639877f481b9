//! PACS round trip with Orthanc: a Lua OnStableSeries rule forwards CT series to pavseg, and
//! pavseg sends the SEG back to Orthanc, where it joins the study.

mod common;

use common::*;
use std::process::{Command, Stdio};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(300);

fn orthanc_binary() -> String {
    ["/usr/sbin/Orthanc", "/usr/bin/Orthanc"].iter().find(|p| std::path::Path::new(p).exists()).map(|s| s.to_string()).unwrap_or_else(|| "Orthanc".into())
}

fn get(http_port: u16, path: &str) -> Option<serde_json::Value> {
    let out = Command::new("curl").args(["-sf", &format!("http://127.0.0.1:{http_port}{path}")]).output().ok()?;
    out.status.success().then(|| serde_json::from_slice(&out.stdout).ok()).flatten()
}

#[test]
fn orthanc_forwards_ct_and_receives_the_seg_in_the_same_study() {
    let t = TempDir::new("orthanc");
    let (_, ph) = make_phantom(&t.path().join("ph"), selectable_phantom(91));
    let (dicom_port, http_port) = (free_port(), free_port());
    let cfg = NodeConfig {
        plugins: vec![default_plugin()],
        destinations: vec![("orthanc".into(), "ORTHANC".into(), dicom_port)],
        ..NodeConfig::default()
    };
    let node = Node::start(t.path(), &cfg);
    let dir = t.path().join("orthanc");
    std::fs::create_dir_all(&dir).unwrap();
    let lua = dir.join("forward.lua");
    std::fs::write(
        &lua,
        // Lua's SendToModality takes an instance; a whole series goes through the REST API.
        "function OnStableSeries(seriesId, tags, metadata)\n  if tags['Modality'] == 'CT' then\n    RestApiPost('/modalities/pavseg/store', seriesId)\n  end\nend\n",
    )
    .unwrap();
    let config = serde_json::json!({
        "Name": "pavseg-test",
        "StorageDirectory": dir.join("db"),
        "IndexDirectory": dir.join("db"),
        "DicomAet": "ORTHANC",
        "DicomPort": dicom_port,
        "HttpPort": http_port,
        "RemoteAccessAllowed": false,
        "AuthenticationEnabled": false,
        "DicomCheckCalledAet": false,
        "StableAge": 2,
        "LuaScripts": [lua],
        "DicomModalities": { "pavseg": ["PAVSEG", "127.0.0.1", node.port] },
        "Plugins": []
    });
    let config_path = dir.join("orthanc.json");
    std::fs::write(&config_path, serde_json::to_vec_pretty(&config).unwrap()).unwrap();
    let mut orthanc = Command::new(orthanc_binary())
        .arg(&config_path)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join("orthanc.log")).unwrap())
        .spawn()
        .expect("Orthanc (apt package orthanc)");
    let result = (|| {
        if !wait_until(Duration::from_secs(30), || get(http_port, "/system").is_some()) {
            return Err("Orthanc did not start".to_string());
        }
        let out = Command::new("storescu")
            .args(["-aec", "ORTHANC", "127.0.0.1", &dicom_port.to_string(), "+sd"])
            .arg(&ph.dicom_dir)
            .output()
            .unwrap();
        if !out.status.success() {
            return Err(format!("storescu to Orthanc: {}", String::from_utf8_lossy(&out.stderr)));
        }
        let mut seg_in_study = false;
        wait_until(WAIT, || {
            let Some(studies) = get(http_port, "/studies?expand") else { return false };
            seg_in_study = studies.as_array().into_iter().flatten().any(|study| {
                study["MainDicomTags"]["StudyInstanceUID"] == ph.study_instance_uid.as_str()
                    && study["Series"].as_array().into_iter().flatten().any(|s| {
                        s.as_str().and_then(|id| get(http_port, &format!("/series/{id}"))).is_some_and(|series| series["MainDicomTags"]["Modality"] == "SEG")
                    })
            });
            seg_in_study
        });
        if seg_in_study {
            Ok(())
        } else {
            let orthanc_log = std::fs::read_to_string(dir.join("orthanc.log")).unwrap_or_default();
            Err(format!("no SEG series in the study; node log:\n{}\nOrthanc log:\n{orthanc_log}", node.log_text()))
        }
    })();
    let _ = orthanc.kill();
    let _ = orthanc.wait();
    result.unwrap();
}
