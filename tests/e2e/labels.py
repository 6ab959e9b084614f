"""The officer and leader app's stable Chinese labels, as the browser tests find them (this catalogue lives
with the tests; the texts themselves come from ``mobile/i18n.py`` and ``mobile/i18n_leader.py``).

Stable Chinese labels for browser tests (TextField ``label`` = textbox name; buttons by visible text;
``exact=True`` advised; click a textbox before ``fill`` (a fill without focus was seen to be lost on the
password field) and leave ~1 s before the next click so the value reaches Python):

- Sign-in: textboxes "HQ 地址", "执法证号", "PIN 密码"; button "登录"; errors e.g. "执法证号或 PIN 错误",
  "此设备首次登录需要连接 HQ".
- Bottom bar: "今日", "当事人", "同步", "设置".
- Today: textbox "网格"; buttons "开始值班" / "结束值班", "新建案件", "立即同步" (status line, also tappable);
  status text starts with "在线" / "离线" / "同步中", then "全部已上传" or "待传 N 条记录 · M 张照片";
  "今日 N 起"; each case row shows the violation name, time · subject, sync state ("仅在本机", "已上传",
  "HQ 已完整接收", "中队长退回") and a stage chip ("劝导" / "警告" / "处罚"); tapping a row opens it.
- New case: step title "k/7 · <step>" with steps "违法类型", "地点", "当事人", "处理阶段", "处理措施",
  "照片", "核对保存"; buttons "上一步", "下一步", "保存案件" (last step), "放弃草稿" (→ "放弃这份草稿？…",
  buttons "确认放弃" → message "草稿已放弃", "继续填写"); close icon "返回".
  1 textbox "搜索违法类型" (names and common names: "烧烤", "渣土", "占道经营"; nothing found: "没有找到该违法
    类型…"); violation tiles by name (e.g. "露天烧烤", "无照经营游商"), button "更多类型" (not while
    searching).
  2 button "获取 GPS 定位"; textboxes "街道与标志物", "网格编号", "无定位原因".
  3 textbox "车牌、电话或姓名" (results are list rows); buttons "新建当事人", "当事人不明或已逃离"; until one
    is chosen "下一步" is disabled under "请先选择或登记当事人；…";
    new-subject form: radios "流动摊贩" / "店铺" / "车辆" / "工地" / "不明" (group "当事人类型"),
    textboxes "姓名 / 店名", "电话", "车牌号", "地址", "特征描述"; switch "困难户（先帮扶后处罚）";
    button "保存当事人".
  4 stage chip + reason text ("第1次 · 劝导" ...); button "选择其他阶段" → buttons "劝导"/"警告"/"处罚",
    textbox "改变阶段的理由", buttons "取消", "确定".
  5 radios (group "处理方式"): "劝导离开", "当场整改", "警告通知书", "罚款", "责令限期整改", "移交其他部门";
    textboxes by disposition "罚款金额（元）" (hint "罚款范围 500～20000 元"; a wrong value says at once e.g.
    "罚款金额应在 500～20000 元之间"), "警告通知书编号", "整改期限（年-月-日）", "移交部门",
    always "法律依据", "备注"; seizure (where allowed): "物品", "数量", button "添加暂扣物品", then
    "暂扣清单编号", "第二名执法队员证号".
  6 button "选择照片" (file chooser, several files); "N 张照片"; delete icons "删除照片".
  7 summary; "可以保存" or "还缺：…"; after saving a message "已保存：<case no>" and the Today screen.
- Zones (location step, again on the action step): "所在位置", "<street> · 商业街 · 管活：以疏为主",
  "网格 <code>", "最近开放的疏导点：<name>，N 米，HH:MM 关闭 · <goods>" (or "…，全天开放 · …"); for vending
  violations buttons "引导至<spot name>" → "已记录：引导至<spot name>", button "取消引导". Case detail rows
  "疏导" ("引导至 <spot name>"), "街道" ("<street> · 商业街"), "网格".
- Case detail: "案件详情"; "本机依据：此前计入 N 起：… → <stage>"; where HQ's stage differs "HQ 判定" + chip
  and "HQ 依据：第3次 · 处罚：…"; a photo (button "查看原图") opens whole: "关闭照片"; button
  "修改并重新提交" (returned cases only).
- Subjects: textbox "按车牌、电话或姓名搜索"; on a subject's detail "违法记录 · N 起", "修改记录",
  button "修改资料" → "修改当事人资料" with textboxes "姓名 / 店名", "电话", "车牌号", "身份证号", "地址",
  "特征描述", switch "困难户（先帮扶后处罚）", buttons "保存修改", "取消" (a wrong field's reason under it,
  e.g. "身份证号校验位不符，请核对是否输错").
- Leader's 当事人合并 (from the 中队 screen, button "当事人合并与冲突"): button "从指挥中心刷新",
  "合并建议（N）", "字段冲突（N）", per pair "强匹配：已按同一当事人核定阶段" / "弱匹配：仅供参考" and
  button "合并", per conflict "保留现值" / "采用手机的值"; offline "离线：合并和处理冲突需要连接指挥中心…".
- Sync: buttons "立即同步", "重试", "全部重试"; "暂缓上传的记录".
- Settings: radios "中文" / "英文" (group "语言"), textboxes "HQ 地址", "照片长边（px）", switches
  "照片加水印（时间、地点、证号）", "户外高对比度"; buttons "保存设置", "退出登录".
- Squad leaders (role leader) get two more tabs: "今日", "中队", "审核", "当事人", "同步", "设置".
- Squad ("中队 · 2026-11-22"; a day older than the phone holds says "本机只保存最近 62 天的中队记录…"):
  textbox "日期（年-月-日）", buttons "查看", "今天",
  arrow buttons with tooltips "前一天" / "后一天"; button "审核队列（N）";
  officer cards "王㐂（1023）", "上岗 18:00 · 下岗 23:30" ("在岗" while open,
  "无值班记录"), "案件 N 起 · …"; filter buttons (the chosen one filled): officers
  "全部队员", "王㐂（1023）"…; types "全部类型", "露天烧烤"…; stages "全部", "劝导", "警告",
  "处罚"; "清除筛选";
  "按违法类型" (bar chart), "案件位置示意图" (canvas plan), "案件明细（N 起）"
  (rows "21:40 露天烧烤", "<name> · <case no>", a review status such as "未审核",
  "待中队长决定", "已通过", "已退回"); buttons "导出 PDF", "导出 CSV" (a browser
  download ``daylog-<squad>-<day>.pdf|csv``; then "已下载：<file>（在浏览器的“下载”文件夹中）", on a phone
  "已保存到手机：<path>", on a desktop "已导出：<path>");
  "再显示 N 起（还有 M 起）" past 50 rows.
- Review ("审核队列 · 2026-11-22"): "待审核 N 起，其中须决定 M 起"; per case
  "21:40 露天烧烤", "<case no> · 第 N 版", "队员：王㐂（1023）", "当事人：…",
  "本机阶段：警告 · HQ 阶段：处罚", "阶段依据：…", "HQ 依据：第3次 · 处罚：10-02 劝导，11-01 警告"
  (when HQ sent its reason; highlighted on a conflict), "照片 N 张", flags "处罚案件",
  "阶段不一致", "须中队长决定后才计入"; buttons "通过", "退回" (one pair per case,
  decisions first) → textbox "退回理由", buttons "确认退回", "取消"; messages
  "已通过：<case no>", "已退回：<case no>", error "退回案件须填写退回理由";
  section "已处理" ("<case no> · 已退回", "张伟（1001）2026-11-22 23:30 决定",
  "已退回：<reason>").
"""
