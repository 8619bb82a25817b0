/* 日本語のメッセージ。printf の変換指定は英語版と同じにすること。 */
#include "core/msg.h"

const char *const xb_msg_table_ja[XB_MSG__COUNT] = {
    [XB_MSG_SIGNIN_PAGE_TITLE] = "XOAuth Bridge サインイン",
    [XB_MSG_SIGNIN_OK_HEAD] = "サインインしました",
    [XB_MSG_SIGNIN_OK_BODY] = "XOAuth Bridge が %s のメールを送受信できるようになりました。"
                              "このタブを閉じて、メールソフトに戻ってください。",
    [XB_MSG_SIGNIN_FAIL_HEAD] = "サインインできませんでした",
    [XB_MSG_SIGNIN_FAIL_BODY] = "XOAuth Bridge はサインインを完了できませんでした（%s）。"
                                "このタブを閉じて、XOAuth Bridge からもう一度お試しください。",
    [XB_MSG_SIGNIN_WRONG_LINK] = "XOAuth Bridge が待っているサインインではありません。"
                                 "このタブを閉じて、サインインを最初からやり直してください。",
    [XB_MSG_SIGNIN_DENIED] = "同意画面でアクセスが許可されませんでした",
    [XB_MSG_SIGNIN_WRONG_ACCOUNT] = "%s でサインインしましたが、このアカウントは %s です。"
                                    "もう一度サインインし、%s を選んでください。",
    [XB_MSG_SIGNIN_WRONG_DOMAIN] = "%s でサインインしましたが、これは %s のアカウントではありません。"
                                   "%s のアカウントでもう一度サインインしてください。",
    [XB_MSG_SIGNIN_TIMEOUT] = "%u 分以内にサインインが完了しませんでした（ブラウザを閉じましたか？）",
    [XB_MSG_SIGNIN_OPENING] = "%s のサインインのためにブラウザを開いています…",
    [XB_MSG_SIGNIN_VISIT] = "ブラウザが開かない場合は、次のアドレスを開いてください: %s",
    [XB_MSG_SIGNIN_DONE] = "サインインしました: %s",
    [XB_MSG_SIGNIN_FAILED] = "サインインに失敗しました: %s",
    [XB_MSG_SECRET_SHOWN_ONCE] = "%s のローカルパスワード（表示は今回限りです。メールソフトで"
                                 "サーバー 127.0.0.1 と共に使ってください）:",
    [XB_MSG_LOGOUT_DONE] = "サインアウトしました: %s。トークンは失効させ、削除しました。",
    [XB_MSG_LOGOUT_REVOKE_FAILED] = "プロバイダーが失効を確認しませんでした（%s）。"
                                    "このコンピューター上のトークンは削除しました。",
    [XB_MSG_TESTING_EXPIRY] = "Google は「テスト」状態の OAuth クライアントのサインインを 7 日で"
                              "終了します。管理者にアプリの公開（または「内部」への変更）を"
                              "依頼してください",
    [XB_MSG_NOTE_SIGNIN_NEEDED] = "%s のサインインが必要です。"
                                  "ここをクリックしてサインインしてください。",
    [XB_MSG_NOTE_TESTING_EXPIRY] = "組織の Google アプリが「テスト」状態のため、%s は 7 "
                                   "日でサインアウトされました。"
                                   "ここをクリックしてもう一度サインインし、"
                                   "管理者にお知らせください。",
    [XB_MSG_NOTE_OUTLOOK_FAILURE] = "Outlook が %s にサインインできませんでした。"
                                    "ここをクリックして Google でサインインすると解決します。",
    [XB_MSG_NOTE_SIGNIN_DONE] = "%s にサインインしました。メールを再び使えます。",
    [XB_MSG_NOTE_OUTLOOK_BRIDGED] = "Outlook のアカウント %s は XOAuth Bridge "
                                    "経由でサインインするようになりました。"
                                    "Outlook をいったん閉じて、もう一度開いてください。",
    [XB_MSG_NOTE_SIGNIN_FAILED] = "%s のサインインができませんでした（%s）。"
                                  "ここをクリックしてもう一度お試しください。",
    [XB_MSG_NOTE_PROBLEM] = "XOAuth Bridge が動作できません（%s）。詳しくはログをご覧ください。",
    [XB_MSG_NOTE_UNTRUSTED] = "XOAuth Bridge は %s に接続しませんでした。このコンピューターは、"
                              "サーバーが示した証明書を信頼していません（%s）。解決するまでメールは"
                              "送受信されません。XOAuth Bridge が TLS インスペクションを経ずに %s "
                              "に接続できるようにするか、インスペクション装置のルート証明書を "
                              "Windows に信頼させるよう、IT 部門に依頼してください。",
    [XB_MSG_NOTE_WRONG_PASSWORD] = "メール ソフトが %s の誤ったパスワードを送りました。"
                                   "このアカウントのパスワードは XOAuth Bridge が管理しています。"
                                   "Outlook がパスワードを求めても Google のパスワードは入力せず、"
                                   "[キャンセル] を押してください。正しいパスワードはアドインが"
                                   "自動的に戻します。",
    [XB_MSG_NOTE_RECENT_MODE] = "Gmail が XOAuth Bridge のサインインでは「recent モード」"
                                "（recent:%s）を受け付けなかったため、このコンピューターは POP "
                                "のメールを通常モードで受信します。ほかのコンピューターがすでに"
                                "受信したメールは、ここでは受信されません。",
    [XB_MSG_NOTE_RESTART_OUTLOOK] = "Outlook は次回の起動から XOAuth Bridge を使います。"
                                    "ここをクリックすると Outlook を今すぐ再起動します"
                                    "（保存していない下書きがあれば先に確認されます）。"
                                    "後で再起動する場合は、この通知を閉じてください。",
    [XB_MSG_NOTE_PORTS_TAKEN] = "XOAuth Bridge が使っていたポートを別のプログラムが使っています"
                                "（%s）。XOAuth Bridge は別のポートを使い、Outlook は次回の起動"
                                "時にそのポートを使うように設定されます。そのプログラムに心当たり"
                                "がない場合は、IT 部門に連絡してください。",
    [XB_MSG_NOTE_ALREADY_RUNNING] = "XOAuth Bridge はすでに起動しています。"
                                    "アイコンは通知領域にあります。",
    [XB_MSG_NOTE_WEB_PROXY] = "XOAuth Bridge はサインイン サーバーに接続できません（%s）。"
                              "解決するまでメールは送受信されません。XOAuth Bridge がこの Web "
                              "プロキシを通してサインイン サーバーに接続できるようにするか、"
                              "別のプロキシを設定する (web_proxy) よう、IT 部門に依頼して"
                              "ください。",
    [XB_MSG_TITLE_SIGNIN_NEEDED] = "サインインが必要です",
    [XB_MSG_TITLE_TESTING_EXPIRY] = "7 日でサインアウトされました",
    [XB_MSG_TITLE_OUTLOOK_FAILURE] = "Outlook がサインインできません",
    [XB_MSG_TITLE_SIGNIN_DONE] = "サインインしました",
    [XB_MSG_TITLE_OUTLOOK_BRIDGED] = "Outlook を再起動してください",
    [XB_MSG_TITLE_SIGNIN_FAILED] = "サインインできませんでした",
    [XB_MSG_TITLE_PROBLEM] = "XOAuth Bridge に問題があります",
    [XB_MSG_TITLE_UNTRUSTED] = "安全な接続を確立できません",
    [XB_MSG_TITLE_WRONG_PASSWORD] = "Google のパスワードは入力しないでください",
    [XB_MSG_TITLE_RECENT_MODE] = "POP の recent モードは使われていません",
    [XB_MSG_TITLE_RESTART_OUTLOOK] = "Outlook を今すぐ再起動しますか？",
    [XB_MSG_TITLE_PORTS_TAKEN] = "XOAuth Bridge のポートが使われています",
    [XB_MSG_TITLE_WEB_PROXY] = "Web プロキシが XOAuth Bridge の接続を拒否しています",
    [XB_MSG_TIP_OK] = "XOAuth Bridge: メールは正常に使えます",
    [XB_MSG_TIP_NO_ACCOUNTS] = "XOAuth Bridge: アカウントはまだありません",
    [XB_MSG_TIP_ATTENTION] = "XOAuth Bridge: 操作が必要なアカウントがあります",
    [XB_MSG_TIP_ERROR] = "XOAuth Bridge: 問題が発生しています",
    [XB_MSG_TIP_PAUSED] = "XOAuth Bridge: 一時停止中",
    [XB_MSG_MENU_ACCOUNT] = "%s（%s）",
    [XB_MSG_MENU_NO_ACCOUNTS] = "アカウントはまだありません",
    [XB_MSG_MENU_SIGNIN_AGAIN] = "もう一度サインイン",
    [XB_MSG_MENU_OPEN_LOG] = "ログを開く",
    [XB_MSG_MENU_PAUSE] = "一時停止",
    [XB_MSG_MENU_RESUME] = "再開",
    [XB_MSG_MENU_ABOUT] = "XOAuth Bridge について",
    [XB_MSG_MENU_QUIT] = "終了",
    [XB_MSG_STATE_NEW] = "未サインイン",
    [XB_MSG_STATE_OK] = "正常",
    [XB_MSG_STATE_NEEDS_SIGNIN] = "サインインが必要",
    [XB_MSG_STATE_TEMP_ERROR] = "一時的な問題",
    [XB_MSG_ABOUT_TEXT] = "XOAuth Bridge %s\n\nOutlook などのメールソフトが、Google "
                          "のパスワードを入力することなく OAuth2 で Gmail と Google Workspace "
                          "を使えるようにします。\n\nログ: %s",
    [XB_MSG_START_FAILED] = "XOAuth Bridge を起動できません:\n\n%s",
    [XB_MSG_AUTOSTART_ON] = "Windows へのサインイン時に XOAuth Bridge "
                            "が起動するようになりました。",
    [XB_MSG_AUTOSTART_OFF] = "Windows へのサインイン時に XOAuth Bridge "
                             "が起動しないようになりました（このユーザーのみ）。",
    [XB_MSG_AUTOSTART_MACHINE] = "このコンピューターのすべてのユーザーについても、"
                                 "インストール時の設定で起動します。"
                                 "これを変更できるのは管理者だけです。",
    [XB_MSG_AUTOSTART_FAILED] = "自動起動の設定を変更できません: %s",
};
