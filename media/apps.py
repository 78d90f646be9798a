import warnings

from django.apps import AppConfig


class MediaConfig(AppConfig):
    name = "media"
    verbose_name = "照片"

    def ready(self) -> None:
        import pillow_heif
        from PIL import Image

        # HEIC/HEIF from iPhones: Pillow alone cannot open them.
        pillow_heif.register_heif_opener()
        # Pillow only warns between 89 and 179 Mpx; an image that large is refused, not decoded.
        warnings.filterwarnings("error", category=Image.DecompressionBombWarning)
