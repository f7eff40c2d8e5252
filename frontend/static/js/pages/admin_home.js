import { boot } from "../ui.js";

await boot("admin");
