//! Connecting to the API server: a kubeconfig file, a context in it, or the in-cluster
//! service account, with the rules of `kube::Config::infer` when neither is given (the
//! `KUBECONFIG` variable or `~/.kube/config`, then the pod's service account).

use std::path::{Path, PathBuf};

use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};

/// A client and the name of the cluster it talks to.
pub struct Connection {
    pub client: Client,
    /// The cluster name of the kubeconfig context in use; `None` in a pod.
    pub cluster: Option<String>,
}

/// Errors of connecting.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "`{path}`: failed to read the kubeconfig: check the path or pass another `--kubeconfig`"
    )]
    ReadKubeconfig {
        path: PathBuf,
        #[source]
        source: kube::config::KubeconfigError,
    },

    #[error(
        "failed to load the kubeconfig context `{context}`: check `--context` against `kubectl config get-contexts`"
    )]
    Context {
        context: String,
        #[source]
        source: kube::config::KubeconfigError,
    },

    #[error(
        "no cluster configuration found: set `KUBECONFIG`, pass `--kubeconfig`, or run in a pod \
         with a service account"
    )]
    Infer(#[source] kube::config::InferConfigError),

    #[error("failed to build the API client")]
    Client(#[source] kube::Error),
}

/// Connects with `--kubeconfig` and `--context` when given, else as `kube::Config::infer`
/// does.
pub async fn connect(
    kubeconfig: Option<&Path>,
    context: Option<&str>,
) -> Result<Connection, Error> {
    let options = KubeConfigOptions {
        context: context.map(str::to_owned),
        ..KubeConfigOptions::default()
    };
    let context_error = |source| Error::Context {
        context: context.unwrap_or_default().to_owned(),
        source,
    };

    let (config, cluster) = match (kubeconfig, context) {
        (Some(path), _) => {
            let file = Kubeconfig::read_from(path).map_err(|source| Error::ReadKubeconfig {
                path: path.to_owned(),
                source,
            })?;
            let cluster = context_cluster(&file, context);
            let config = Config::from_custom_kubeconfig(file, &options)
                .await
                .map_err(context_error)?;
            (config, cluster)
        }
        (None, Some(_)) => {
            let cluster = Kubeconfig::read()
                .ok()
                .and_then(|file| context_cluster(&file, context));
            let config = Config::from_kubeconfig(&options)
                .await
                .map_err(context_error)?;
            (config, cluster)
        }
        (None, None) => {
            let cluster = Kubeconfig::read()
                .ok()
                .and_then(|file| context_cluster(&file, None));
            (Config::infer().await.map_err(Error::Infer)?, cluster)
        }
    };

    let client = Client::try_from(config).map_err(Error::Client)?;
    Ok(Connection { client, cluster })
}

/// Returns the cluster name of the named context, or of the current one.
fn context_cluster(file: &Kubeconfig, context: Option<&str>) -> Option<String> {
    let name = context.or(file.current_context.as_deref())?;
    let named = file.contexts.iter().find(|named| named.name == name)?;
    named
        .context
        .as_ref()
        .map(|context| context.cluster.clone())
}
