export function build(): { files: number; outdir: string };
