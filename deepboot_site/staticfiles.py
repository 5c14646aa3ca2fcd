"""Static files before and after `collectstatic`.

After `collectstatic`, pages link WhiteNoise's hashed, compressed copies under STATIC_ROOT (the
manifest says which). Before it (no manifest yet, or a file added since), WhiteNoise's manifest
storage would refuse the missing entry and every page would be a 500; this one links the plain
name instead, which WhiteNoise serves from the source folders (WHITENOISE_USE_FINDERS), so a bare
`manage.py serve` works. Run `collectstatic` (and restart) for long-lived
caching.
"""

from whitenoise.storage import CompressedManifestStaticFilesStorage


class StaticFilesStorage(CompressedManifestStaticFilesStorage):
    def stored_name(self, name):
        """The hashed name from the manifest, or `name` itself when the manifest lacks it."""
        try:
            return super().stored_name(name)
        except ValueError:  # "Missing staticfiles manifest entry": not collected yet
            return name
