"""What WeasyPrint may fetch while it lays out a letter: `data:` URLs, and files inside the
campaign folder (read without following links) or the package's own assets. Nothing from
the network, and no image over the pixel budget."""

from __future__ import annotations

import mimetypes
import os
from pathlib import Path
from urllib.parse import unquote, urlsplit
from urllib.request import url2pathname

from letters.errors import LettersError
from letters.fileio import Confined
from letters.layout.html import ASSETS_DIR
from letters.layout.weasy import FatalURLFetchingError, URLFetcher, URLFetcherResponse
from letters.workspace.images import ImageTooLargeError, check_image

_SHOWN_URL_LENGTH = 120
# An image, stylesheet or font a letter uses; a CJK font is about 20 MB. Anything larger is
# refused before it is read (the PDF stage runs without a memory cap: Pango aborts on one).
MAX_FETCH_BYTES = 64 * 1024 * 1024


class RefusedURLError(ValueError):
    """A template or stylesheet asked for something outside the workspace."""


class ImageRefusedError(FatalURLFetchingError):
    """An image over the pixel budget: WeasyPrint stops rendering the letter at once.

    A BaseException (WeasyPrint lets FatalURLFetchingError through, where it only logs
    other fetch errors); `PdfRenderer.render` turns it back into the LettersError.
    """

    def __init__(self, error: LettersError) -> None:
        super().__init__(error.message)
        self.error = error


class SafeURLFetcher(URLFetcher):
    """Serves `data:` URLs and files inside the workspace or the package assets, nothing else.

    Every refusal is kept in `warnings` (WeasyPrint itself only logs and carries on), and
    no request ever reaches the network: urllib only ever sees `data:` URLs. Workspace
    files are read through `Confined`: a link anywhere in the path is refused, and so is
    anything that is not a regular file (a FIFO is refused, not waited on). Every image
    served must meet the pixel budget of `letters.workspace.images`; one that does not is kept in
    `errors` and stops the render, since it would cost the worker gigabytes to decode.
    """

    def __init__(self, workspace: Path, template_name: str) -> None:
        super().__init__(timeout=1, allowed_protocols={"data"}, allow_redirects=False)
        self.workspace = workspace.resolve()
        self.template_name = template_name
        self.warnings: list[str] = []
        self.errors: list[LettersError] = []  # what makes the letter fail (images too large)
        self.fetched: list[Path] = []  # workspace files served: inputs of the letter
        self._confined = Confined(self.workspace)

    def fetch(self, url: str, headers: dict[str, str] | None = None) -> URLFetcherResponse:
        scheme = url.split(":", 1)[0].lower() if ":" in url else ""
        if scheme == "data":
            response = super().fetch(url, headers)
            try:
                body = response.read()
            finally:
                response.close()
            self._check_image(url, body, self.template_name, "the image in a data: URL")
            return URLFetcherResponse(response.url, body, response.headers, response.status)
        if scheme == "file":
            path = self.local_path(url)
            if self._in_workspace(path):
                try:
                    body = self._confined.read_bytes(path, MAX_FETCH_BYTES)
                except LettersError as error:
                    raise self._refuse(url, self._reason(error, path)) from None
                self._check_image(url, body, path)
                self.fetched.append(path)
            else:  # the package's own assets: trusted, and outside the campaign
                try:
                    body = path.read_bytes()
                except OSError as error:
                    raise self._refuse(
                        url, f"cannot read {self._shown(path)}: {error.strerror}"
                    ) from None
            content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            return URLFetcherResponse(url.split("?")[0], body, {"Content-Type": content_type})
        raise self._refuse(url, "only files inside the workspace can be used")

    def local_path(self, url: str) -> Path:
        """The file a `file:` URL names, if it may be read; else refuse.

        A path inside the workspace is taken as written (`..` removed), and must reach a
        regular file without passing through any link; one in the package assets is
        taken after following links, as the package is trusted.
        """
        parts = urlsplit(url)
        # urllib would hand `file://otherhost/...` to its FTP handler: never let it.
        if parts.scheme.lower() != "file" or parts.netloc not in ("", "localhost"):
            raise self._refuse(url, "only files inside the workspace can be used")
        written = Path(url2pathname(unquote(parts.path)))
        path = Path(os.path.normpath(written))
        if self._in_workspace(path):
            kind = self._confined.kind(path)
            if kind == "file":
                return path
            if kind == "missing":
                raise self._refuse(url, f"{self._shown(path)} does not exist")
            if kind == "link":
                raise self._refuse(
                    url,
                    f"{self._shown(path)} is or passes through a link; letters never follows "
                    "links inside a campaign folder: copy the file in instead",
                )
            raise self._refuse(url, f"{self._shown(path)} is not a regular file")
        resolved = written.resolve()
        if not resolved.is_relative_to(ASSETS_DIR):
            raise self._refuse(url, "only files inside the workspace can be used")
        if not resolved.is_file():
            raise self._refuse(url, f"{self._shown(resolved)} does not exist")
        return resolved

    def _in_workspace(self, path: Path) -> bool:
        return path != self.workspace and path.is_relative_to(self.workspace)

    def _check_image(
        self, url: str, data: bytes, path: Path | str, shown: str | None = None
    ) -> None:
        try:
            check_image(data, path, shown)
        except ImageTooLargeError as error:
            self.errors.append(error)
            raise ImageRefusedError(error) from None
        except LettersError as error:
            raise self._refuse(url, error.message) from None

    def _reason(self, error: LettersError, path: Path) -> str:
        where = self._shown(Path(error.file)) if error.file is not None else self._shown(path)
        if error.message == "file not found":
            return f"{where} does not exist"
        return f"{where}: {error.message}"

    def _refuse(self, url: str, reason: str) -> RefusedURLError:
        shown = url if len(url) <= _SHOWN_URL_LENGTH else url[:_SHOWN_URL_LENGTH] + "…"
        message = f"{self.template_name}: refused to fetch {shown} ({reason})"
        if message not in self.warnings:
            self.warnings.append(message)
        return RefusedURLError(message)

    def _shown(self, path: Path) -> str:
        try:
            return str(path.relative_to(self.workspace))
        except ValueError:
            return str(path)


def shown_path(path: Path, workspace: Path) -> str:
    try:
        return str(path.resolve().relative_to(workspace))
    except ValueError:
        try:
            return str(path.resolve().relative_to(ASSETS_DIR.parent))
        except ValueError:
            return path.name
