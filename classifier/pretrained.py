"""ImageNet weights for the vgg16 and resnet152 bases, fetched with the project's downloader.

Keras downloads its ImageNet weights itself on first use, with no resume and only from its own
storage. `imagenet_weights(arch, base_url, keras_home)` gets the same file (the base without its
top, `include_top=False`) into Keras' cache, `<keras_home>/models/<file name>`, where Keras itself
would look for it: a file already there is used as it is; otherwise it is downloaded from
`base_url` + the file's path under Keras' storage with `deepboot.downloads.download` (resumes a
broken transfer) and its checksum checked (a mismatch removes it). The caller passes the returned
path as the base's `weights`, so Keras loads that file and never goes to the network itself. No
Django: the caller reads the base URL and the cache folder from the settings.
"""

from dataclasses import dataclass
from pathlib import Path

from deepboot import downloads

@dataclass(frozen=True)
class WeightsFile:
    path: str
    """The file's path under the storage URL (Keras' own layout); its name is the cache's."""
    checksum: str
    """The checksum keras.applications checks the file against."""

    @property
    def name(self):
        return Path(self.path).name


IMAGENET_NOTOP = {
    "vgg16": WeightsFile("vgg16/vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5",
                         "md5:6d6bbae143d832006294945121d1f1fc"),
    "resnet152": WeightsFile("resnet/resnet152_weights_tf_dim_ordering_tf_kernels_notop.h5",
                             "md5:ee4c566cf9a93f14d82f913c2dc6dd0c"),
}


class WeightsUnavailable(downloads.DownloadError):
    """The weights are neither in the Keras cache nor downloadable; the message says why."""


def cached_weights_path(arch, keras_home):
    """Where Keras keeps `arch`'s ImageNet base weights: <keras_home>/models/<file name>."""
    return Path(keras_home).expanduser() / "models" / IMAGENET_NOTOP[arch].name


def imagenet_weights(arch, base_url, keras_home, stdout=None):
    """The path of `arch`'s ImageNet base weights in the Keras cache, downloaded from `base_url`
    first when they are not there (or are not the expected file). Raises WeightsUnavailable (for cnn9, which has none, too)."""
    if arch not in IMAGENET_NOTOP:
        raise WeightsUnavailable(f"{arch} has no ImageNet weights.")
    spec = IMAGENET_NOTOP[arch]
    target = cached_weights_path(arch, keras_home)
    if target.is_file():
        try:
            downloads.verify_checksum(target, spec.checksum)
        except downloads.ChecksumError as exc:  # as Keras does: a file that is not the expected one is fetched again
            if stdout is not None:
                stdout.write(f"  {exc}\n")
        else:
            if stdout is not None:
                stdout.write(f"  ImageNet weights of {arch} already in the Keras cache: {target}\n")
            return target
    url = base_url.rstrip("/") + "/" + spec.path
    if stdout is not None:
        stdout.write(f"  downloading the ImageNet weights of {arch} from {url}\n  to {target}\n")
    try:
        downloads.download(url, target, stdout=stdout)
        downloads.verify_checksum(target, spec.checksum, stdout=stdout)
    except downloads.DownloadError as exc:
        target.unlink(missing_ok=True)
        raise WeightsUnavailable(f"The ImageNet weights of {arch} are not in {target.parent} and could not be "
                                 f"downloaded: {exc}") from exc
    return target
