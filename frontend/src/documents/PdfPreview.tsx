// A PDF's first page drawn on a canvas with PDF.js (bundled, loaded on first use, its worker served
// from this origin): no browser PDF viewer in a frame, nothing from elsewhere.

import { useEffect, useRef, useState } from "react";

import { ErrorMessage } from "../components/ui";

export function PdfPreview({ blob, title }: { blob: Blob; title: string }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const [error, setError] = useState<unknown>(null);
  const [drawn, setDrawn] = useState(false);
  useEffect(() => {
    let cancelled = false;
    setDrawn(false);
    let destroy: (() => Promise<void>) | null = null;
    (async () => {
      const [pdfjs, worker] = await Promise.all([
        import("pdfjs-dist"),
        import("pdfjs-dist/build/pdf.worker.min.mjs?url"),
      ]);
      pdfjs.GlobalWorkerOptions.workerSrc = worker.default;
      const task = pdfjs.getDocument({
        data: new Uint8Array(await blob.arrayBuffer()),
        verbosity: 0,
      });
      destroy = () => task.destroy();
      const pdf = await task.promise;
      const page = await pdf.getPage(1);
      const target = canvas.current;
      const context = target?.getContext("2d");
      if (cancelled || !target || !context) return;
      const viewport = page.getViewport({ scale: 1.5 });
      target.width = Math.floor(viewport.width);
      target.height = Math.floor(viewport.height);
      await page.render({ canvas: target, canvasContext: context, viewport }).promise;
      if (!cancelled) setDrawn(true);
    })().catch((failure: unknown) => {
      if (!cancelled) setError(failure);
    });
    return () => {
      cancelled = true;
      void destroy?.();
    };
  }, [blob]);
  if (error) return <ErrorMessage error={error} />;
  // aria-busy until the page is drawn (the library and its worker load on first use).
  return (
    <canvas
      ref={canvas}
      role="img"
      aria-label={title}
      aria-busy={!drawn}
      className="preview__canvas"
    />
  );
}
