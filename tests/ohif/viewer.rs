//! The OHIF viewer of the test: OHIF's prebuilt app (fetched by `scripts/setup.sh test`)
//! served on 127.0.0.1 by tests/ohif/serve.mjs with Orthanc's DICOMweb on the same origin, and
//! one headless Chromium driven by tests/ohif/drive.mjs for every case.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

/// The @ohif/app version `scripts/setup.sh test` fetches.
pub const OHIF_VERSION: &str = "3.13.2";

/// OHIF's prebuilt `dist/`: `$PAVSEG_OHIF_DIST`, or where setup puts it.
pub fn dist() -> PathBuf {
    let dir = std::env::var_os("PAVSEG_OHIF_DIST")
        .map(PathBuf::from)
        .unwrap_or_else(|| super::repo().join(format!(".work/ohif/app-{OHIF_VERSION}/dist")));
    assert!(
        dir.join("index.html").is_file(),
        "no OHIF viewer in {} (run `scripts/setup.sh test`, or set PAVSEG_OHIF_DIST)",
        dir.display()
    );
    dir
}

/// The app configuration: one DICOMweb data source on this origin's /dicom-web (its
/// sourceName is the default data source's name), no investigational-use dialog, no prompt
/// before a SEG is loaded onto its CT.
pub fn app_config() -> &'static str {
    r#"window.config = {
  routerBasename: '/',
  extensions: [],
  modes: [],
  showStudyList: true,
  investigationalUseDialog: { option: 'never' },
  disableConfirmationPrompts: true,
  showWarningMessageForCrossOrigin: false,
  showCPUFallbackMessage: false,
  showLoadingIndicator: true,
  strictZSpacingForVolumeViewport: true,
  maxNumberOfWebWorkers: 2,
  defaultDataSourceName: 'orthanc',
  dataSources: [
    {
      namespace: '@ohif/extension-default.dataSourcesModule.dicomweb',
      sourceName: 'orthanc',
      configuration: {
        friendlyName: 'Orthanc of the pavseg test',
        name: 'orthanc',
        wadoUriRoot: '/dicom-web',
        qidoRoot: '/dicom-web',
        wadoRoot: '/dicom-web',
        qidoSupportsIncludeField: false,
        imageRendering: 'wadors',
        thumbnailRendering: 'wadors',
        enableStudyLazyLoad: true,
        supportsFuzzyMatching: false,
        supportsWildcard: true,
        omitQuotationForMultipartRequest: true,
        bulkDataURI: { enabled: true },
      },
    },
  ],
};
"#
}

/// What to show: a study limited to `series` (the CT and one SEG), at the CT image `sop`;
/// screenshots go to `out`.
pub struct Request<'a> {
    pub study: &'a str,
    pub series: [&'a str; 2],
    pub sop: &'a str,
    pub out: &'a Path,
}

/// The web server and the browser, stopped when dropped.
pub struct Viewer {
    server: Child,
    driver: Child,
    stdin: ChildStdin,
    answers: BufReader<ChildStdout>,
}

fn node_script(name: &str) -> PathBuf {
    super::repo().join("tests/ohif").join(name)
}

fn first_line(out: &mut BufReader<ChildStdout>, what: &str) -> String {
    let mut line = String::new();
    out.read_line(&mut line).unwrap_or_else(|e| panic!("reading {what}: {e}"));
    assert!(!line.is_empty(), "{what} exited before answering (see the test's stderr)");
    line.trim().to_string()
}

impl Viewer {
    /// Starts the server (app config written into `dir`) in front of Orthanc's HTTP port, and
    /// the browser.
    pub fn start(dir: &Path, orthanc_http_port: u16) -> Viewer {
        let config = dir.join("app-config.js");
        std::fs::write(&config, app_config()).unwrap();
        let node = || Command::new(std::env::var("PAVSEG_NODE").unwrap_or_else(|_| "node".into()));
        let mut server = node()
            .arg(node_script("serve.mjs"))
            .arg(dist())
            .arg(&config)
            .arg(orthanc_http_port.to_string())
            .stdout(Stdio::piped())
            .spawn()
            .expect("node (Debian package nodejs)");
        let mut out = BufReader::new(server.stdout.take().unwrap());
        let line = first_line(&mut out, "tests/ohif/serve.mjs");
        let base = line.strip_prefix("listening on ").unwrap_or_else(|| panic!("serve.mjs said {line:?}")).to_string();
        let mut driver = node()
            .arg(node_script("drive.mjs"))
            .arg(&base)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("node (Debian package nodejs)");
        let stdin = driver.stdin.take().unwrap();
        let mut answers = BufReader::new(driver.stdout.take().unwrap());
        let what = "tests/ohif/drive.mjs (is tests/ohif/node_modules installed? run scripts/setup.sh test)";
        let ready = first_line(&mut answers, what);
        assert!(ready.contains("\"ready\":true"), "drive.mjs said {ready:?}");
        println!("OHIF {OHIF_VERSION} at {base}; browser: {ready}");
        Viewer { server, driver, stdin, answers }
    }

    /// Shows one case and returns the driver's answer (labels, swatch colours, screenshots).
    pub fn show(&mut self, r: &Request<'_>) -> serde_json::Value {
        let line = serde_json::json!({ "study": r.study, "series": r.series, "sop": r.sop, "out": r.out });
        writeln!(self.stdin, "{line}").and_then(|_| self.stdin.flush()).expect("writing to drive.mjs");
        let answer = first_line(&mut self.answers, "tests/ohif/drive.mjs");
        serde_json::from_str(&answer).unwrap_or_else(|e| panic!("drive.mjs answered {answer:?}: {e}"))
    }
}

impl Drop for Viewer {
    fn drop(&mut self) {
        for child in [&mut self.driver, &mut self.server] {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
