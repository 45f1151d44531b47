// Kept for state written before the layout of release 3 (see ../schema/provider.ts).
export * from "../../engine/providers/verification";
