//! A real Orthanc (Debian package orthanc) on loopback, configured by the test: the PACS or
//! router a site already runs.

use super::{free_port, wait_until};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub struct Orthanc {
    pub child: Child,
    pub dicom_port: u16,
    pub http_port: u16,
    pub dir: PathBuf,
    /// User and password that `get` signs in with, when authentication is enabled.
    pub credentials: Option<(String, String)>,
}

/// Where Debian's orthanc-dicomweb installs the plugin.
pub const DICOMWEB_PLUGIN: &str = "/usr/share/orthanc/plugins/libOrthancDicomWeb.so";

fn binary() -> String {
    ["/usr/sbin/Orthanc", "/usr/bin/Orthanc"]
        .iter()
        .find(|p| Path::new(p).exists())
        .map(|s| s.to_string())
        .unwrap_or_else(|| "Orthanc".into())
}

impl Orthanc {
    /// Free ports for an Orthanc that is about to be configured (peers need its DICOM port).
    pub fn ports() -> (u16, u16) {
        (free_port(), free_port())
    }

    /// Starts Orthanc (AE ORTHANC) in `dir` with a Lua script, the given modalities
    /// (`name -> [AE, host, port]`) and StableAge 2 s; waits for its REST API.
    pub fn start(dir: &Path, ports: (u16, u16), lua: &str, modalities: serde_json::Value) -> Orthanc {
        Self::start_with_plugins(dir, ports, lua, modalities, false, &[])
    }

    /// As [`Orthanc::start`], with the DICOMweb plugin (Debian package orthanc-dicomweb)
    /// serving `/dicom-web/` on the HTTP port: STOW-RS, QIDO-RS and WADO-RS.
    pub fn start_dicomweb(dir: &Path, ports: (u16, u16), lua: &str, modalities: serde_json::Value) -> Orthanc {
        Self::start_with_plugins(dir, ports, lua, modalities, true, &[])
    }

    /// As [`Orthanc::start_dicomweb`], with HTTP basic authentication enabled: only `users`
    /// (user, password) may use the REST API and DICOMweb, and `get` signs in as the first.
    pub fn start_dicomweb_with_users(
        dir: &Path,
        ports: (u16, u16),
        lua: &str,
        modalities: serde_json::Value,
        users: &[(&str, &str)],
    ) -> Orthanc {
        Self::start_with_plugins(dir, ports, lua, modalities, true, users)
    }

    fn start_with_plugins(
        dir: &Path,
        (dicom_port, http_port): (u16, u16),
        lua: &str,
        modalities: serde_json::Value,
        dicomweb: bool,
        users: &[(&str, &str)],
    ) -> Orthanc {
        std::fs::create_dir_all(dir).unwrap();
        let script = dir.join("route.lua");
        std::fs::write(&script, lua).unwrap();
        let mut config = serde_json::json!({
            "Name": "pavseg-test",
            "StorageDirectory": dir.join("db"),
            "IndexDirectory": dir.join("db"),
            "DicomAet": "ORTHANC",
            "DicomPort": dicom_port,
            "HttpPort": http_port,
            "RemoteAccessAllowed": false,
            "AuthenticationEnabled": !users.is_empty(),
            "DicomCheckCalledAet": false,
            "StableAge": 2,
            "LuaScripts": [script],
            "DicomModalities": modalities,
            "Plugins": if dicomweb { vec![DICOMWEB_PLUGIN] } else { vec![] },
            "DicomWeb": { "Enable": dicomweb, "Root": "/dicom-web/" }
        });
        if !users.is_empty() {
            config["RegisteredUsers"] = users.iter().map(|(u, p)| (u.to_string(), serde_json::json!(p))).collect();
        }
        let path = dir.join("orthanc.json");
        std::fs::write(&path, serde_json::to_vec_pretty(&config).unwrap()).unwrap();
        let child = Command::new(binary())
            .arg(&path)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("orthanc.log")).unwrap())
            .spawn()
            .expect("Orthanc (apt package orthanc)");
        let o = Orthanc {
            child,
            dicom_port,
            http_port,
            dir: dir.to_path_buf(),
            credentials: users.first().map(|(u, p)| (u.to_string(), p.to_string())),
        };
        assert!(
            wait_until(Duration::from_secs(30), || o.get("/system").is_some()),
            "Orthanc did not start: {}",
            o.log()
        );
        o
    }

    /// GET on the REST API, parsed as JSON.
    pub fn get(&self, path: &str) -> Option<serde_json::Value> {
        let mut curl = Command::new("curl");
        curl.args(["-sf", &format!("http://127.0.0.1:{}{path}", self.http_port)]);
        if let Some((user, password)) = &self.credentials {
            curl.args(["-u", &format!("{user}:{password}")]);
        }
        let out = curl.output().ok()?;
        out.status
            .success()
            .then(|| serde_json::from_slice(&out.stdout).ok())
            .flatten()
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("orthanc.log")).unwrap_or_default()
    }

    /// dcmtk storescu of a folder to Orthanc.
    pub fn store(&self, folder: &Path) -> Result<(), String> {
        let out = Command::new("storescu")
            .args(["-aec", "ORTHANC", "127.0.0.1", &self.dicom_port.to_string(), "+sd"])
            .arg(folder)
            .output()
            .map_err(|e| e.to_string())?;
        out.status
            .success()
            .then_some(())
            .ok_or_else(|| String::from_utf8_lossy(&out.stderr).to_string())
    }

    /// How many SEG series the study with this Study Instance UID holds.
    pub fn seg_series_in_study(&self, study_uid: &str) -> usize {
        let Some(studies) = self.get("/studies?expand") else {
            return 0;
        };
        studies
            .as_array()
            .into_iter()
            .flatten()
            .filter(|s| s["MainDicomTags"]["StudyInstanceUID"] == study_uid)
            .flat_map(|s| s["Series"].as_array().cloned().unwrap_or_default())
            .filter(|id| {
                id.as_str()
                    .and_then(|id| self.get(&format!("/series/{id}")))
                    .is_some_and(|series| series["MainDicomTags"]["Modality"] == "SEG")
            })
            .count()
    }
}

impl Drop for Orthanc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
