// Reads the IMPS resources of a cluster for `migrate --from-cluster`: one list call, under KubeRest's own
// deadline (30 s).
import { KubeRest, isStatus } from '../../kube/rest.ts';
import { commandKubeConfig } from '../kube-access.ts';

const IMPS_PATH = '/apis/images.banzaicloud.io/v1alpha1/imagepullsecrets';

export async function listImps(opts: { kubeconfig?: string | undefined; context?: string | undefined }): Promise<Record<string, unknown>[]> {
  const rest = new KubeRest(await commandKubeConfig('migrate', opts));
  try {
    const list = await rest.call<{ items?: Record<string, unknown>[] }>({ method: 'GET', path: IMPS_PATH });
    return (list.items ?? []).map((item) => ({ apiVersion: 'images.banzaicloud.io/v1alpha1', kind: 'ImagePullSecret', ...item }));
  } catch (err) {
    if (isStatus(err, 404)) throw new Error('the cluster serves no images.banzaicloud.io/v1alpha1 ImagePullSecrets (IMPS\'s CRD is not installed)', { cause: err });
    throw err;
  } finally {
    rest.close();
  }
}
